#define CAF_SUITE dedupe
#include "actor_fixture.hpp"

#include <deque>
#include <map>

#include "actors/dedupe.hpp"
#include "telemetry/counters.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

namespace {

/// A scripted job store: answers enqueue per asset, claims from a queue of
/// prepared answers, and records everything else.
struct store_log {
  std::map<asset_id, enqueue_outcome> outcomes;
  std::vector<std::vector<asset_id>> enqueued;
  std::vector<uint32_t> claims;
  std::deque<std::vector<backfill_job>> claim_answers;
  std::vector<job_id> done;
  std::vector<job_verdict> verdicts;
  std::vector<job_id> released;
  /// How each release was meant: attempt given back or not.
  std::vector<bool> refunds;
  std::vector<std::vector<job_id>> heartbeats;
  int catch_ups = 0;
  std::vector<enqueue_result> catch_up_answer;
  int failures_left = 0;
  /// Outcomes refused outright (not a connection problem).
  int refusals_left = 0;

  std::vector<enqueue_result> answer(const std::vector<asset_id>& assets) {
    std::vector<enqueue_result> result;
    for (auto asset : assets) {
      auto i = outcomes.find(asset);
      result.push_back(enqueue_result{
        asset, "SYM" + std::to_string(asset),
        i == outcomes.end() ? enqueue_outcome::unknown_asset : i->second,
        false, ""});
    }
    return result;
  }

  bool fail() {
    if (failures_left == 0)
      return false;
    --failures_left;
    return true;
  }
};

job_store_actor::behavior_type fake_store(job_store_actor::pointer,
                                          std::shared_ptr<store_log> log) {
  using enqueue_answer = caf::result<std::vector<enqueue_result>>;
  return {
    [=](atom::enqueue, const std::vector<asset_id>& assets) -> enqueue_answer {
      if (log->fail())
        return db_down();
      log->enqueued.push_back(assets);
      return log->answer(assets);
    },
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
    [=](atom::done, job_id job) -> caf::result<bool> {
      if (log->fail())
        return db_down();
      log->done.push_back(job);
      return true;
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
    [=](atom::catch_up) -> enqueue_answer {
      ++log->catch_ups;
      return log->catch_up_answer;
    },
  };
}

struct tracker_log {
  std::vector<asset_id> tracked;
};

tracker_actor::behavior_type fake_tracker(tracker_actor::pointer,
                                          std::shared_ptr<tracker_log> log) {
  return {
    [=](atom::track, asset_id asset) { log->tracked.push_back(asset); },
    [=](atom::track, asset_id, atom::write) {},
    [=](atom::track, const std::vector<asset_id>& assets) {
      log->tracked.insert(log->tracked.end(), assets.begin(), assets.end());
    },
    [=](atom::flush) { return int32_t{0}; },
    [=](atom::tick) {},
  };
}

/// A fetcher: pulls once with `capacity`, and then reports what it is told.
struct fetcher_log {
  std::vector<std::vector<backfill_job>> pulled;
};

caf::behavior fake_fetcher(caf::event_based_actor* self, dedupe_actor queue,
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
  std::shared_ptr<tracker_log> tracker_book = std::make_shared<tracker_log>();
  job_store_actor store = start(fake_store, store_book);
  tracker_actor tracker = start(fake_tracker, tracker_book);
  dedupe_actor hdl;

  fixture() {
    dedupe_settings s;
    s.poll_interval = 1s;
    s.catch_up_interval = 60s;
    s.heartbeat_interval = 10s;
    s.store_timeout = 5s;
    s.max_sightings = 100;
    s.retry.backoff = backoff_policy{1000ms, 2.0, 60'000ms, 3};
    s.retry.throttle_delay = 30s;
    s.seed = 1;
    hdl = start(dedupe, store, tracker, s);
    settle(); // The start-up catch-up.
  }

  caf::actor fetcher(uint32_t capacity, std::shared_ptr<fetcher_log> book,
                     std::vector<job_id> held = {}) {
    return start(fake_fetcher, hdl, capacity, std::move(held), book);
  }

  void see(asset_id asset) {
    self->send(hdl, asset_seen{asset, 0, 0});
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(dedupe_tests, fixture)

CAF_TEST(it catches up at start) {
  CAF_CHECK_EQUAL(store_book->catch_ups, 1);
}

CAF_TEST(a flood of duplicate sightings costs at most two round trips) {
  store_book->outcomes[12] = enqueue_outcome::queued;
  for (int i = 0; i < 500; ++i)
    see(12);
  settle();
  CAF_CHECK_LESS_OR_EQUAL(store_book->enqueued.size(), 2u);
  for (const auto& batch : store_book->enqueued)
    CAF_CHECK_EQUAL(batch, std::vector<asset_id>{12});
}

CAF_TEST(unknown assets are dropped and counted and priced ones only tracked) {
  store_book->outcomes[5] = enqueue_outcome::has_prices;
  auto unknown_before = metrics().unknown_assets.load();
  see(99);
  see(5);
  settle();
  CAF_CHECK_EQUAL(metrics().unknown_assets.load(), unknown_before + 1);
  CAF_CHECK_EQUAL(tracker_book->tracked, std::vector<asset_id>{5});
}

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

CAF_TEST(a pull waits while nothing is due and is served when work arrives) {
  auto book = std::make_shared<fetcher_log>();
  fetcher(4, book);
  settle();
  CAF_CHECK(book->pulled.empty());
  store_book->outcomes[12] = enqueue_outcome::queued;
  store_book->claim_answers.push_back({job(7, 12)});
  see(12);
  settle();
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
  CAF_CHECK(store_book->verdicts[0].give_up);
  CAF_CHECK_EQUAL(store_book->verdicts[0].reason, "symbol_not_found");
  // The third attempt of three: the job is given up, visibly.
  CAF_CHECK(store_book->verdicts[1].give_up);
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
  store_book->refusals_left = 100;
  self->send(f, atom::failed_v, job(1, 10),
             job_failure{failure_kind::permanent, "bad bytes", 0});
  self->send(f, atom::done_v, job(2, 11));
  settle();
  CAF_CHECK(store_book->done.empty());
  wait(1s);
  wait(1s);
  // Refused three times, then dropped: the next outcome gets through.
  CAF_CHECK_EQUAL(store_book->done, std::vector<job_id>{2});
  CAF_CHECK_EQUAL(store_book->refusals_left, 97);
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

CAF_TEST(held jobs get heartbeats even those reported after a restart) {
  auto book = std::make_shared<fetcher_log>();
  // A fetcher that already holds jobs 20 and 21 (from our predecessor).
  fetcher(0, book, {20, 21});
  settle();
  wait(10s);
  CAF_REQUIRE(!store_book->heartbeats.empty());
  CAF_CHECK_EQUAL(store_book->heartbeats.back(), std::vector<job_id>({20, 21}));
}

CAF_TEST(a lost listener connection triggers a catch - up) {
  store_book->catch_up_answer = {
    {30, "GONE", enqueue_outcome::queued, false, ""},
    {31, "OLD", enqueue_outcome::has_prices, false, ""}};
  self->send(hdl, atom::catch_up_v);
  settle();
  CAF_CHECK_EQUAL(store_book->catch_ups, 2);
  CAF_CHECK_EQUAL(tracker_book->tracked, std::vector<asset_id>{31});
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
