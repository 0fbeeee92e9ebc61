#define CAF_SUITE job_queue
#include "fakes.hpp"

#include <deque>
#include <map>

#include "actors/job_queue.hpp"
#include "telemetry/counters.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

namespace {

/// A scripted job store: claims from a queue of prepared answers, and records
/// everything else.
struct store_log {
  std::vector<uint32_t> claims;
  std::deque<std::vector<backfill_job>> claim_answers;
  std::vector<job_id> done;
  /// The done marks as the store got them, one round trip each.
  std::vector<std::vector<job_id>> done_batches;
  std::vector<job_verdict> verdicts;
  std::vector<job_id> released;
  /// How each release was meant: attempt given back or not.
  std::vector<bool> refunds;
  std::vector<std::vector<job_id>> heartbeats;
  int failures_left = 0;
  /// Outcomes refused outright (not a connection problem).
  int refusals_left = 0;

  bool fail() {
    if (failures_left == 0)
      return false;
    --failures_left;
    return true;
  }
};

claim_store_actor::behavior_type fake_store(claim_store_actor::pointer,
                                            std::shared_ptr<store_log> log) {
  return {
    [=](atom::claim, uint32_t limit) -> caf::result<std::vector<backfill_job>> {
      if (log->fail())
        return db_down();
      log->claims.push_back(limit);
      if (log->claim_answers.empty())
        return std::vector<backfill_job>{};
      auto jobs = std::move(log->claim_answers.front());
      log->claim_answers.pop_front();
      return jobs;
    },
    [=](atom::done,
        const std::vector<job_id>& jobs) -> caf::result<std::vector<job_id>> {
      if (log->fail())
        return db_down();
      log->done.insert(log->done.end(), jobs.begin(), jobs.end());
      log->done_batches.push_back(jobs);
      return std::vector<job_id>{};
    },
    [=](atom::failed, const job_verdict& verdict) -> caf::result<bool> {
      if (log->fail())
        return db_down();
      if (log->refusals_left > 0) {
        --log->refusals_left;
        return make_error(ec::database_error, "invalid byte sequence");
      }
      log->verdicts.push_back(verdict);
      return true;
    },
    [=](atom::heartbeat, const std::vector<job_id>& jobs) {
      log->heartbeats.push_back(jobs);
      return static_cast<int32_t>(jobs.size());
    },
    [=](atom::release, const job_release& release) {
      const auto& jobs = release.jobs;
      log->refunds.push_back(release.refund_attempt);
      log->released.insert(log->released.end(), jobs.begin(), jobs.end());
      return static_cast<int32_t>(jobs.size());
    },
  };
}

/// A fetcher: pulls once with `capacity`, and then reports what it is told.
struct fetcher_log {
  std::vector<std::vector<backfill_job>> pulled;
};

caf::behavior fake_fetcher(caf::event_based_actor* self, job_queue_actor queue,
                           uint32_t capacity, std::vector<job_id> held,
                           std::shared_ptr<fetcher_log> log) {
  self->request(queue, caf::infinite, atom::pull_v, capacity, held)
    .then(
      [=](std::vector<backfill_job>& jobs) { log->pulled.push_back(jobs); });
  return {
    [=](atom::done, const backfill_job& job) {
      self->send(queue, atom::done_v, job, write_summary{});
    },
    [=](atom::failed, const backfill_job& job, const job_failure& failure) {
      self->send(queue, atom::failed_v, job, failure);
    },
  };
}

backfill_job job(job_id id, asset_id asset, int32_t attempts = 1) {
  backfill_job j;
  j.id = id;
  j.asset = asset;
  j.symbol = "SYM" + std::to_string(asset);
  j.attempts = attempts;
  return j;
}

struct fixture : actor_fixture {
  std::shared_ptr<store_log> store_book = std::make_shared<store_log>();
  claim_store_actor store = start(fake_store, store_book);
  job_queue_actor hdl;
  /// Times freed memory went back to the system.
  std::shared_ptr<int> returned = std::make_shared<int>(0);

  fixture() {
    job_queue_settings s;
    s.poll_interval = 1s;
    s.heartbeat_interval = 10s;
    s.store_timeout = 5s;
    s.max_outcome_refusals = 3;
    s.retry.backoff = backoff_policy{1000ms, 2.0, 60'000ms, 3};
    s.retry.throttle_delay = 30s;
    s.seed = 1;
    s.settle_after = 30s;
    s.return_memory = [n = returned] {
      ++*n;
    };
    hdl = start(job_queue, store, s);
    settle();
  }

  caf::actor fetcher(uint32_t capacity, std::shared_ptr<fetcher_log> book,
                     std::vector<job_id> held = {}) {
    return start(fake_fetcher, hdl, capacity, std::move(held), book);
  }

  /// A burst of one job, now over: it was claimed and done, and the next
  /// pull (returned, still waiting) found nothing due.
  caf::actor burst_of_one(std::shared_ptr<fetcher_log> book) {
    store_book->claim_answers.push_back({job(1, 10)});
    auto f = fetcher(1, book);
    settle();
    CAF_REQUIRE_EQUAL(book->pulled.size(), 1u);
    self->send(f, atom::done_v, job(1, 10));
    settle();
    auto waiting = fetcher(1, book);
    settle();
    return waiting;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(job_queue_tests, fixture)

CAF_TEST(fetchers get at most what they asked for) {
  store_book->claim_answers.push_back({job(1, 10), job(2, 11)});
  auto book = std::make_shared<fetcher_log>();
  fetcher(2, book);
  settle();
  CAF_REQUIRE_EQUAL(store_book->claims.size(), 1u);
  CAF_CHECK_EQUAL(store_book->claims[0], 2u);
  CAF_REQUIRE_EQUAL(book->pulled.size(), 1u);
  CAF_CHECK_EQUAL(book->pulled[0].size(), 2u);
  CAF_CHECK_EQUAL(metrics().jobs_in_memory.load(), 2);
}

CAF_TEST(a pull waits while nothing is due and is served when woken) {
  auto book = std::make_shared<fetcher_log>();
  auto f = fetcher(4, book);
  settle();
  CAF_CHECK(book->pulled.empty());
  store_book->claim_answers.push_back({job(7, 12)});
  self->send(hdl, atom::wake_v);
  expect((atom::wake), from(self).to(hdl));
  expect((atom::claim, uint32_t), from(hdl).to(store).with(_, 4u));
  expect((std::vector<backfill_job>), from(store).to(hdl));
  expect((std::vector<backfill_job>), from(hdl).to(f));
  CAF_REQUIRE_EQUAL(book->pulled.size(), 1u);
  CAF_CHECK_EQUAL(book->pulled[0].front().id, 7);
}

CAF_TEST(the poll finds jobs that became due without a notification) {
  auto book = std::make_shared<fetcher_log>();
  fetcher(4, book);
  settle();
  store_book->claim_answers.push_back({job(8, 13)});
  wait(1s);
  CAF_REQUIRE_EQUAL(book->pulled.size(), 1u);
  CAF_CHECK_EQUAL(book->pulled[0].front().id, 8);
}

CAF_TEST(outcomes reach the table with the right verdict) {
  store_book->claim_answers.push_back({job(1, 10), job(2, 11), job(3, 12, 3)});
  auto book = std::make_shared<fetcher_log>();
  auto f = fetcher(3, book);
  settle();
  self->send(f, atom::done_v, job(1, 10));
  self->send(f, atom::failed_v, job(2, 11),
             job_failure{failure_kind::permanent, "symbol_not_found", 0});
  self->send(f, atom::failed_v, job(3, 12, 3),
             job_failure{failure_kind::transient, "HTTP 503", 0});
  settle();
  CAF_CHECK_EQUAL(store_book->done, std::vector<job_id>{1});
  CAF_REQUIRE_EQUAL(store_book->verdicts.size(), 2u);
  CAF_CHECK_EQUAL(store_book->verdicts[0].action,
                  verdict_action::give_up_permanent);
  CAF_CHECK_EQUAL(store_book->verdicts[0].reason, "symbol_not_found");
  // The third attempt of three: the job is given up, visibly.
  CAF_CHECK_EQUAL(store_book->verdicts[1].action, verdict_action::give_up);
  CAF_CHECK_EQUAL(store_book->verdicts[1].reason,
                  "gave up after 3 attempts: HTTP 503");
  CAF_CHECK_EQUAL(metrics().jobs_in_memory.load(), 0);
}

CAF_TEST(an outcome the store could not take is retried) {
  store_book->claim_answers.push_back({job(1, 10)});
  auto book = std::make_shared<fetcher_log>();
  auto f = fetcher(1, book);
  settle();
  store_book->failures_left = 1;
  self->send(f, atom::done_v, job(1, 10));
  settle();
  CAF_CHECK(store_book->done.empty());
  wait(1s);
  CAF_CHECK_EQUAL(store_book->done, std::vector<job_id>{1});
}

CAF_TEST(an outcome the database refuses outright does not block the rest) {
  store_book->claim_answers.push_back({job(1, 10), job(2, 11)});
  auto book = std::make_shared<fetcher_log>();
  auto f = fetcher(2, book);
  settle();
  store_book->refusals_left = 3;
  self->send(f, atom::failed_v, job(1, 10),
             job_failure{failure_kind::permanent, "bad bytes", 0});
  self->send(f, atom::failed_v, job(2, 11),
             job_failure{failure_kind::permanent, "symbol_not_found", 0});
  settle();
  CAF_CHECK(store_book->verdicts.empty());
  wait(1s);
  wait(1s);
  // Refused `max_outcome_refusals` times, then dropped: the next outcome
  // gets through.
  CAF_CHECK_EQUAL(store_book->refusals_left, 0);
  CAF_REQUIRE_EQUAL(store_book->verdicts.size(), 1u);
  CAF_CHECK_EQUAL(store_book->verdicts[0].job, 2);
}

CAF_TEST(a done mark never waits behind a refused outcome of another job) {
  store_book->claim_answers.push_back({job(1, 10), job(2, 11)});
  auto book = std::make_shared<fetcher_log>();
  auto f = fetcher(2, book);
  settle();
  store_book->refusals_left = 100;
  self->send(f, atom::failed_v, job(1, 10),
             job_failure{failure_kind::permanent, "bad bytes", 0});
  self->send(f, atom::done_v, job(2, 11));
  settle();
  CAF_CHECK_EQUAL(store_book->done, std::vector<job_id>{2});
}

CAF_TEST(done marks that arrive while marks are on their way go together) {
  store_book->claim_answers.push_back({job(1, 10), job(2, 11), job(3, 12)});
  auto book = std::make_shared<fetcher_log>();
  auto f = fetcher(3, book);
  settle();
  for (job_id id : {1, 2, 3})
    self->send(f, atom::done_v, job(id, 9 + static_cast<asset_id>(id)));
  for (int i = 0; i < 3; ++i)
    expect((atom::done, backfill_job), from(self).to(f));
  expect((atom::done, backfill_job, write_summary), from(f).to(hdl));
  // The first mark goes at once; the next two wait for its answer.
  expect((atom::done, backfill_job, write_summary), from(f).to(hdl));
  expect((atom::done, backfill_job, write_summary), from(f).to(hdl));
  expect((atom::done, std::vector<job_id>),
         from(hdl).to(store).with(_, std::vector<job_id>{1}));
  expect((std::vector<job_id>), from(store).to(hdl));
  expect((atom::done, std::vector<job_id>),
         from(hdl).to(store).with(_, std::vector<job_id>{2, 3}));
  settle();
  CAF_CHECK_EQUAL(store_book->done_batches.size(), 2u);
}

CAF_TEST(a job whose done mark waits for the store still gets heartbeats) {
  // Its row is still running: left out of the heartbeat, the store would
  // release it as an orphan and it would be fetched a second time.
  store_book->claim_answers.push_back({job(1, 10)});
  auto book = std::make_shared<fetcher_log>();
  auto f = fetcher(1, book);
  settle();
  store_book->failures_left = 1000;
  self->send(f, atom::done_v, job(1, 10));
  settle();
  CAF_CHECK(store_book->done.empty());
  wait(10s);
  CAF_REQUIRE(!store_book->heartbeats.empty());
  CAF_CHECK_EQUAL(store_book->heartbeats.back(), std::vector<job_id>{1});
}

CAF_TEST(a drain waits for the done marks) {
  store_book->claim_answers.push_back({job(1, 10)});
  auto book = std::make_shared<fetcher_log>();
  auto f = fetcher(1, book);
  settle();
  store_book->failures_left = 1;
  self->send(f, atom::done_v, job(1, 10));
  settle();
  CAF_CHECK(store_book->done.empty());
  auto drained = ask<int32_t>(hdl, atom::drain_v);
  settle();
  CAF_CHECK(!drained->arrived());
  wait(1s);
  CAF_CHECK_EQUAL(store_book->done, std::vector<job_id>{1});
  CAF_CHECK(drained->arrived());
}

CAF_TEST(jobs of a fetcher that dies go back to the table) {
  store_book->claim_answers.push_back({job(4, 10), job(5, 11)});
  auto book = std::make_shared<fetcher_log>();
  auto f = fetcher(2, book);
  settle();
  CAF_REQUIRE_EQUAL(book->pulled.size(), 1u);
  self->send_exit(f, caf::exit_reason::kill);
  settle();
  CAF_CHECK_EQUAL(store_book->released, std::vector<job_id>({4, 5}));
  // Their attempt counts: a job that kills its fetcher must run out.
  CAF_CHECK_EQUAL(store_book->refunds, std::vector<bool>{false});
  CAF_CHECK_EQUAL(metrics().jobs_in_memory.load(), 0);
}

CAF_TEST(jobs of a fetcher stopped at shutdown go back with their attempt) {
  // The supervisor stops a fetcher whose grace ran out; that exit may reach
  // the queue before the drain does. The attempt did not fail.
  store_book->claim_answers.push_back({job(4, 10)});
  auto book = std::make_shared<fetcher_log>();
  auto f = fetcher(2, book);
  settle();
  CAF_REQUIRE_EQUAL(book->pulled.size(), 1u);
  self->send_exit(f, caf::exit_reason::user_shutdown);
  settle();
  CAF_CHECK_EQUAL(store_book->released, std::vector<job_id>({4}));
  CAF_CHECK_EQUAL(store_book->refunds, std::vector<bool>{true});
}

CAF_TEST(freed memory goes back when the queue runs dry and once settled) {
  burst_of_one(std::make_shared<fetcher_log>());
  CAF_CHECK_EQUAL(*returned, 1);
  wait(29s);
  CAF_CHECK_EQUAL(*returned, 1);
  // The burst's request time-outs are gone by now: once more, and only once.
  wait(2s);
  CAF_CHECK_EQUAL(*returned, 2);
  wait(60s);
  CAF_CHECK_EQUAL(*returned, 2);
}

CAF_TEST(no late return while a new burst holds jobs) {
  auto book = std::make_shared<fetcher_log>();
  auto g = burst_of_one(book);
  CAF_REQUIRE_EQUAL(*returned, 1);
  // Work again after 10 s: the queue is not dry, nothing goes back.
  wait(10s);
  store_book->claim_answers.push_back({job(2, 11)});
  self->send(hdl, atom::wake_v);
  settle();
  CAF_REQUIRE_EQUAL(book->pulled.size(), 2u);
  wait(40s);
  CAF_CHECK_EQUAL(*returned, 1);
  // It is done and the queue runs dry again: a new burst is over.
  self->send(g, atom::done_v, job(2, 11));
  fetcher(1, book);
  settle();
  CAF_CHECK_EQUAL(*returned, 2);
}

CAF_TEST(leases are checked while nothing is held so orphans go back) {
  wait(10s);
  CAF_REQUIRE_EQUAL(store_book->heartbeats.size(), 1u);
  CAF_CHECK(store_book->heartbeats.front().empty());
}

CAF_TEST(no heartbeat while a claim is on its way) {
  // Its jobs are ours in the table but in nobody's hands yet: a heartbeat
  // would release them as orphans.
  auto book = std::make_shared<fetcher_log>();
  auto f = fetcher(2, book);
  boot(f);
  expect((atom::pull, uint32_t, std::vector<job_id>), from(f).to(hdl));
  // The claim waits in the store's mailbox while the heartbeat comes due.
  sched.clock().advance_time(10s);
  while (sched.prioritize(hdl))
    sched.run_once(); // the queue's own ticks only
  CAF_CHECK(store_book->heartbeats.empty());
  // Once the claim is answered, the next tick does it.
  settle();
  wait(1s);
  CAF_CHECK_EQUAL(store_book->heartbeats.size(), 1u);
}

CAF_TEST(held jobs get heartbeats even those reported after a restart) {
  auto book = std::make_shared<fetcher_log>();
  // A fetcher that already holds jobs 20 and 21 (from our predecessor).
  fetcher(0, book, {20, 21});
  settle();
  wait(10s);
  CAF_REQUIRE(!store_book->heartbeats.empty());
  CAF_CHECK_EQUAL(store_book->heartbeats.back(), std::vector<job_id>({20, 21}));
}

CAF_TEST(a pull with nothing due gets no answer until there is work) {
  auto book = std::make_shared<fetcher_log>();
  auto f = fetcher(2, book);
  boot(f);
  expect((atom::pull, uint32_t, std::vector<job_id>), from(f).to(hdl));
  expect((atom::claim, uint32_t), from(hdl).to(store));
  expect((std::vector<backfill_job>), from(store).to(hdl));
  disallow((std::vector<backfill_job>), from(hdl).to(f));
  CAF_CHECK(book->pulled.empty());
}

CAF_TEST(draining answers waiting pulls and hands back held jobs) {
  store_book->claim_answers.push_back({job(1, 10)});
  auto holder = std::make_shared<fetcher_log>();
  fetcher(1, holder);
  settle();
  auto waiter = std::make_shared<fetcher_log>();
  fetcher(3, waiter);
  settle();
  CAF_CHECK(waiter->pulled.empty());
  auto drained = ask<int32_t>(hdl, atom::drain_v);
  settle();
  CAF_REQUIRE_EQUAL(waiter->pulled.size(), 1u);
  CAF_CHECK(waiter->pulled[0].empty());
  CAF_CHECK_EQUAL(store_book->released, std::vector<job_id>{1});
  CAF_REQUIRE(drained->value);
  CAF_CHECK_EQUAL(*drained->value, 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
