#define CAF_SUITE job_queries
#include <caf/test/unit_test.hpp>

#include <algorithm>
#include <thread>

#include "db/job_queries.hpp"
#include "db_fixture.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

namespace {

struct fixture : db_fixture {
  queue_settings me{"host:1:a", std::chrono::milliseconds{60'000}};
  queue_settings other{"host:2:b", std::chrono::milliseconds{60'000}};

  fixture() {
    exec(R"sql(
      INSERT INTO assets (id, symbol, asset_type) VALUES
        (12, 'AMD', 'stock'), (13, 'BTC', 'crypto'), (14, 'EUR', 'cash'),
        (15, 'AAPL', 'stock');
      INSERT INTO asset_prices (asset_id, date, close) VALUES
        (15, current_date - 30, 100), (15, current_date - 29, 101);
    )sql");
  }

  void transaction(asset_id asset, int portfolio, const std::string& when) {
    exec("INSERT INTO transactions (portfolio_id, asset_id, quantity, price,"
         " timestamp) VALUES (" +
         std::to_string(portfolio) + ", " + std::to_string(asset) + ", 1, 1, " +
         when + ")");
  }

  std::vector<enqueue_result> enqueue(const std::vector<asset_id>& assets) {
    return enqueue_jobs(*conn, assets, me);
  }

  enqueue_outcome outcome_of(asset_id asset) {
    auto results = enqueue({asset});
    CAF_REQUIRE_EQUAL(results.size(), 1u);
    return results[0].outcome;
  }

  std::vector<backfill_job> claim(uint32_t n, const queue_settings& who) {
    std::vector<std::string> reclaimed;
    return claim_jobs(*conn, n, who, reclaimed);
  }

  std::string state_of(job_id job) {
    return scalar<std::string>("SELECT state FROM backfill_jobs WHERE id = " +
                               std::to_string(job));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(job_queries_tests, fixture)

CAF_TEST(one live job per asset whatever the number of sightings) {
  auto results = enqueue({12, 12, 13, 99, 15});
  CAF_REQUIRE_EQUAL(results.size(), 4u);
  CAF_CHECK_EQUAL(results[0].asset, 12);
  CAF_CHECK_EQUAL(results[0].symbol, "AMD");
  CAF_CHECK_EQUAL(results[0].outcome, enqueue_outcome::queued);
  CAF_CHECK_EQUAL(results[1].outcome, enqueue_outcome::queued);
  CAF_CHECK_EQUAL(results[2].outcome, enqueue_outcome::has_prices);
  CAF_CHECK_EQUAL(results[3].asset, 99);
  CAF_CHECK_EQUAL(results[3].outcome, enqueue_outcome::unknown_asset);
  CAF_CHECK_EQUAL(outcome_of(12), enqueue_outcome::already_queued);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM backfill_jobs"), 2);
}

CAF_TEST(claims hand out each job once and hold it under a lease) {
  enqueue({12, 13});
  auto mine = claim(1, me);
  CAF_REQUIRE_EQUAL(mine.size(), 1u);
  CAF_CHECK_EQUAL(mine[0].attempts, 1);
  CAF_CHECK_EQUAL(mine[0].kind, job_kind::backfill);
  auto theirs = claim(5, other);
  CAF_REQUIRE_EQUAL(theirs.size(), 1u);
  CAF_CHECK_NOT_EQUAL(mine[0].id, theirs[0].id);
  CAF_CHECK(claim(5, me).empty());
  CAF_CHECK(finish_job(*conn, mine[0].id, me));
  CAF_CHECK_EQUAL(state_of(mine[0].id), "done");
  // Only the lease holder may finish a job.
  CAF_CHECK(!finish_job(*conn, theirs[0].id, me));
  CAF_CHECK_EQUAL(state_of(theirs[0].id), "running");
}

CAF_TEST(concurrent claimers never get the same job) {
  std::vector<asset_id> assets;
  for (int i = 0; i < 40; ++i) {
    exec("INSERT INTO assets (id, symbol) VALUES (" + std::to_string(100 + i) +
         ", 'S" + std::to_string(i) + "')");
    assets.push_back(100 + i);
  }
  enqueue(assets);
  std::vector<std::vector<job_id>> got(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      auto c = connect();
      queue_settings who{"worker" + std::to_string(t), 60'000ms};
      for (;;) {
        std::vector<std::string> reclaimed;
        auto jobs = claim_jobs(*c, 3, who, reclaimed);
        if (jobs.empty())
          return;
        for (const auto& job : jobs)
          got[t].push_back(job.id);
      }
    });
  for (auto& t : threads)
    t.join();
  std::vector<job_id> all;
  for (const auto& g : got)
    all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  CAF_CHECK_EQUAL(all.size(), 40u);
  CAF_CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
}

CAF_TEST(a job whose lease expired is reclaimed) {
  enqueue({12});
  queue_settings brief{"dead:1:x", 1ms};
  auto first = claim(1, brief);
  CAF_REQUIRE_EQUAL(first.size(), 1u);
  std::this_thread::sleep_for(20ms);
  std::vector<std::string> reclaimed;
  auto second = claim_jobs(*conn, 1, me, reclaimed);
  CAF_REQUIRE_EQUAL(second.size(), 1u);
  CAF_CHECK_EQUAL(second[0].id, first[0].id);
  CAF_CHECK_EQUAL(second[0].attempts, 2);
  CAF_REQUIRE_EQUAL(reclaimed.size(), 1u);
  CAF_CHECK(reclaimed[0].find("Reclaimed job") == 0);
  CAF_CHECK(reclaimed[0].find("dead:1:x") != std::string::npos);
  // The dead worker can no longer finish it.
  CAF_CHECK(!finish_job(*conn, first[0].id, brief));
}

CAF_TEST(heartbeats keep leases alive) {
  enqueue({12});
  queue_settings brief{"me:1:x", 300ms};
  auto jobs = claim(1, brief);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(100ms);
    CAF_CHECK_EQUAL(extend_leases(*conn, {jobs[0].id}, brief).extended, 1);
  }
  CAF_CHECK(claim(1, other).empty());
}

CAF_TEST(failed attempts back off and then give up visibly) {
  enqueue({12});
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  auto id = jobs[0].id;
  CAF_CHECK(fail_job(
    *conn, job_verdict{id, verdict_action::retry, 60'000, false, "HTTP 503"}, me));
  CAF_CHECK_EQUAL(state_of(id), "pending");
  // Not due yet.
  CAF_CHECK(claim(1, me).empty());
  exec("UPDATE backfill_jobs SET next_attempt_at = now()");
  jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK_EQUAL(jobs[0].attempts, 2);
  CAF_CHECK(fail_job(
    *conn, job_verdict{id, verdict_action::give_up_permanent, 0, false, "symbol_not_found"}, me));
  CAF_CHECK_EQUAL(state_of(id), "failed");
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT last_error FROM backfill_jobs"),
                  "symbol_not_found");
  // A failed asset is not queued again by sightings or catch-up ...
  CAF_CHECK_EQUAL(outcome_of(12), enqueue_outcome::failed_before);
  // ... until an operator asks.
  CAF_CHECK_EQUAL(retry_failed(*conn, "amd"), 1);
  CAF_CHECK_EQUAL(state_of(id), "pending");
  CAF_CHECK_EQUAL(scalar<int>("SELECT attempts FROM backfill_jobs"), 0);
  CAF_CHECK_EQUAL(retry_failed(*conn, ""), 0);
}

CAF_TEST(throttled attempts and released jobs do not count) {
  enqueue({12, 13});
  auto jobs = claim(2, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 2u);
  CAF_CHECK(fail_job(
    *conn, job_verdict{jobs[0].id, verdict_action::retry, 0, true, "HTTP 429"}, me));
  CAF_CHECK_EQUAL(release_jobs(*conn, job_release{{jobs[1].id}, true}, me), 1);
  CAF_CHECK_EQUAL(scalar<int>("SELECT sum(attempts) FROM backfill_jobs"), 0);
  CAF_CHECK_EQUAL(claim(5, other).size(), 2u);
}

CAF_TEST(catch - up candidates are the assets with transactions) {
  transaction(12, 1, "now()");
  transaction(12, 2, "now()");
  transaction(14, 1, "now()");
  auto candidates = assets_with_transactions(*conn);
  CAF_CHECK_EQUAL(candidates, std::vector<asset_id>({12, 14}));
}

CAF_TEST(an old transaction asks once for older history) {
  transaction(15, 1, "now() - interval '400 days'");
  auto results = enqueue({15});
  CAF_REQUIRE_EQUAL(results.size(), 1u);
  CAF_CHECK_EQUAL(results[0].outcome, enqueue_outcome::has_prices);
  CAF_CHECK(results[0].extension_queued);
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK_EQUAL(jobs[0].kind, job_kind::extend);
  CAF_CHECK_EQUAL(jobs[0].want_from, jobs[0].first_transaction);
  CAF_CHECK_LESS(jobs[0].want_from, jobs[0].first_price - 7);
  // The provider had nothing older (a listing date): the job is done, the
  // prices still start later, and it is not asked again.
  CAF_CHECK(finish_job(*conn, jobs[0].id, me));
  CAF_CHECK(!enqueue({15})[0].extension_queued);
  // An even older transaction asks once more.
  transaction(15, 1, "now() - interval '800 days'");
  CAF_CHECK(enqueue({15})[0].extension_queued);
  CAF_CHECK(!enqueue({15})[0].extension_queued);
}

CAF_TEST(a recent transaction asks for nothing older) {
  transaction(15, 1, "now() - interval '33 days'");
  CAF_CHECK(!enqueue({15})[0].extension_queued);
}

CAF_TEST(status lists jobs by state and the failures) {
  enqueue({12, 13});
  auto jobs = claim(1, me);
  fail_job(*conn, job_verdict{jobs[0].id, verdict_action::give_up_permanent, 0, false, "bad"}, me);
  auto counts = count_jobs(*conn);
  CAF_CHECK_EQUAL(counts.size(), 2u);
  auto failed = list_failed_jobs(*conn, 10);
  CAF_REQUIRE_EQUAL(failed.size(), 1u);
  CAF_CHECK_EQUAL(failed[0].last_error, "bad");
}

CAF_TEST(a symbol built to inject sql is only an unknown symbol) {
  exec("INSERT INTO assets (id, symbol) VALUES (50,"
       " '''); DROP TABLE assets;--')");
  auto results = enqueue({50});
  CAF_CHECK_EQUAL(results[0].outcome, enqueue_outcome::queued);
  CAF_CHECK_EQUAL(retry_failed(*conn, "'); DROP TABLE assets;--"), 0);
  CAF_CHECK(scalar<bool>("SELECT to_regclass('assets') IS NOT NULL"));
}

CAF_TEST(jobs of ours that nobody holds go back to the table) {
  enqueue({12, 13});
  queue_settings quick = me;
  quick.orphan_after = 200ms;
  auto jobs = claim(2, quick);
  CAF_REQUIRE_EQUAL(jobs.size(), 2u);
  // Job 1 is in hand (and heartbeated); the claim of job 2 was lost.
  auto check = extend_leases(*conn, {jobs[0].id}, quick);
  CAF_CHECK_EQUAL(check.extended, 1);
  CAF_CHECK_EQUAL(check.orphans_released, 0); // Too fresh to tell.
  std::this_thread::sleep_for(300ms);
  check = extend_leases(*conn, {jobs[0].id}, quick);
  CAF_CHECK_EQUAL(check.orphans_released, 1);
  CAF_CHECK_EQUAL(state_of(jobs[0].id), "running");
  CAF_CHECK_EQUAL(state_of(jobs[1].id), "pending");
  CAF_CHECK_EQUAL(scalar<int>("SELECT attempts FROM backfill_jobs WHERE id = " +
                              std::to_string(jobs[1].id)),
                  0);
}

CAF_TEST(a job whose holder keeps dying runs out of attempts) {
  enqueue({12});
  queue_settings dying{"dying:1:x", 1ms};
  dying.max_attempts = 2;
  for (int i = 0; i < 2; ++i) {
    auto jobs = claim(1, dying);
    CAF_REQUIRE_EQUAL(jobs.size(), 1u);
    // Its holder died; the release keeps the attempt.
    CAF_CHECK_EQUAL(
      release_jobs(*conn, job_release{{jobs[0].id}, false}, dying), 1);
  }
  std::vector<std::string> notes;
  CAF_CHECK(claim_jobs(*conn, 1, dying, notes).empty());
  CAF_REQUIRE_EQUAL(notes.size(), 1u);
  CAF_CHECK(notes[0].find("Gave up on job") == 0);
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT state FROM backfill_jobs"),
                  "failed");
  CAF_CHECK(!scalar<bool>("SELECT permanent FROM backfill_jobs"));
}

CAF_TEST(attempts that ran out in an outage are revived after a while) {
  queue_settings reviving = me;
  reviving.revive_after = 300ms;
  enqueue_jobs(*conn, {12}, reviving);
  auto jobs = claim(1, reviving);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK(fail_job(*conn,
                     job_verdict{jobs[0].id, verdict_action::give_up, 0, false,
                                 "gave up after 8 attempts: HTTP 503"},
                     reviving));
  auto again = enqueue_jobs(*conn, {12}, reviving);
  CAF_CHECK_EQUAL(again[0].outcome, enqueue_outcome::failed_before);
  CAF_CHECK_EQUAL(again[0].last_error, "gave up after 8 attempts: HTTP 503");
  std::this_thread::sleep_for(400ms);
  auto revived = enqueue_jobs(*conn, {12}, reviving);
  CAF_CHECK_EQUAL(revived[0].outcome, enqueue_outcome::queued);
  // A permanent failure stays until an operator asks.
  enqueue_jobs(*conn, {13}, reviving);
  jobs = claim(2, reviving);
  auto btc = std::find_if(jobs.begin(), jobs.end(),
                          [](const auto& j) { return j.asset == 13; });
  CAF_REQUIRE(btc != jobs.end());
  fail_job(*conn,
           job_verdict{btc->id, verdict_action::give_up_permanent, 0, false, "symbol_not_found"},
           reviving);
  std::this_thread::sleep_for(400ms);
  auto still_failed = enqueue_jobs(*conn, {13}, reviving);
  CAF_CHECK_EQUAL(still_failed[0].outcome, enqueue_outcome::failed_before);
}

CAF_TEST_FIXTURE_SCOPE_END()
