#define CAF_SUITE enqueue_queries
#include "db/operator_queries.hpp"
#include "queue_fixture.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

CAF_TEST_FIXTURE_SCOPE(enqueue_queries_tests, queue_fixture)

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

CAF_TEST(catch-up candidates are the assets with transactions) {
  transaction(12, 1, "now()");
  transaction(12, 2, "now()");
  transaction(14, 1, "now()");
  auto candidates = all_assets_with_transactions(*conn).assets;
  CAF_CHECK_EQUAL(candidates, std::vector<asset_id>({12, 14}));
}

CAF_TEST(an old transaction asks once for older history) {
  // backfilld fetched AAPL's range once; all older history comes as
  // extensions.
  exec("INSERT INTO backfill_jobs (asset_id, kind, state, finished_at)"
       " VALUES (15, 'backfill', 'done', now())");
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
  fail_job(
    *conn,
    job_verdict{jobs[0].id, verdict_action::give_up_permanent, 0, false, "bad"},
    me);
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

CAF_TEST(attempts that ran out in an outage are revived after a while) {
  queue_settings reviving = me;
  reviving.revive_after = 3'600'000ms;
  enqueue_jobs(*conn, {12}, reviving);
  auto id = claim_and_give_up(reviving, "gave up after 8 attempts: HTTP 503");
  auto again = enqueue_jobs(*conn, {12}, reviving);
  CAF_CHECK_EQUAL(again[0].outcome, enqueue_outcome::failed_before);
  CAF_CHECK_EQUAL(again[0].last_error, "gave up after 8 attempts: HTTP 503");
  exec("UPDATE backfill_jobs SET finished_at = now() - interval '2 hours'");
  auto revived = enqueue_jobs(*conn, {12}, reviving);
  CAF_CHECK_EQUAL(revived[0].outcome, enqueue_outcome::queued);
  // In its own row: a revival adds none.
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM backfill_jobs"), 1);
  CAF_CHECK_EQUAL(state_of(id), "pending");
  CAF_CHECK_EQUAL(scalar<int>("SELECT attempts FROM backfill_jobs"), 0);
  // A permanent failure stays until an operator asks.
  enqueue_jobs(*conn, {13}, reviving);
  auto jobs = claim(2, reviving);
  auto btc = std::find_if(jobs.begin(), jobs.end(),
                          [](const auto& j) { return j.asset == 13; });
  CAF_REQUIRE(btc != jobs.end());
  fail_job(*conn,
           job_verdict{btc->id, verdict_action::give_up_permanent, 0, false,
                       "symbol_not_found"},
           reviving);
  exec("UPDATE backfill_jobs SET finished_at = now() - interval '2 hours'"
       " WHERE asset_id = 13");
  auto still_failed = enqueue_jobs(*conn, {13}, reviving);
  CAF_CHECK_EQUAL(still_failed[0].outcome, enqueue_outcome::failed_before);
}

// -- crash recovery: claims tied to the holder's session ---------------------

CAF_TEST(prices that do not reach back still need the backfill) {
  // The tracker's own updater wrote today's price before we heard of AMD.
  transaction(12, 1, "now()");
  exec("INSERT INTO asset_prices (asset_id, date, close)"
       " VALUES (12, current_date, 150)");
  CAF_CHECK_EQUAL(outcome_of(12), enqueue_outcome::queued);
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK_EQUAL(jobs[0].kind, job_kind::backfill);
  // The provider has nothing older (a listing date): the backfill settles it.
  CAF_CHECK(finish_job(*conn, jobs[0].id, me));
  CAF_CHECK_EQUAL(outcome_of(12), enqueue_outcome::has_prices);
  // Prices reaching back to the range (a week's slack) need nothing.
  CAF_CHECK_EQUAL(outcome_of(15), enqueue_outcome::has_prices);
  // Nor to a first transaction older than the range.
  transaction(15, 1, "now() - interval '375 days'");
  CAF_CHECK_EQUAL(outcome_of(15), enqueue_outcome::has_prices);
  transaction(15, 1, "now() - interval '380 days'");
  CAF_CHECK_EQUAL(outcome_of(15), enqueue_outcome::queued);
}

CAF_TEST(year to date means since january first) {
  queue_settings ytd = me;
  ytd.history_range = "ytd";
  transaction(12, 1, "now()");
  // From a week before January 1st of this year (UTC) on.
  exec("INSERT INTO asset_prices (asset_id, date, close) VALUES (12,"
       " date_trunc('year', now() AT TIME ZONE 'UTC')::date - 6, 150)");
  // (A copy of the outcome: CAF_CHECK_EQUAL would keep a reference into the
  // temporary vector.)
  auto outcome = [&] {
    return enqueue_jobs(*conn, {12}, ytd).at(0).outcome;
  };
  CAF_CHECK_EQUAL(outcome(), enqueue_outcome::has_prices);
  exec("UPDATE asset_prices SET date = date + 14 WHERE asset_id = 12");
  CAF_CHECK_EQUAL(outcome(), enqueue_outcome::queued);
}

CAF_TEST(a failed extension is revived in its own row) {
  exec("INSERT INTO backfill_jobs (asset_id, kind, state, finished_at)"
       " VALUES (15, 'backfill', 'done', now())");
  transaction(15, 1, "now() - interval '800 days'");
  queue_settings reviving = me;
  reviving.revive_after = 3'600'000ms;
  CAF_REQUIRE(enqueue_jobs(*conn, {15}, reviving)[0].extension_queued);
  auto id = claim_and_give_up(reviving, "gave up after 8 attempts: HTTP 503");
  CAF_CHECK(!enqueue_jobs(*conn, {15}, reviving)[0].extension_queued);
  exec("UPDATE backfill_jobs SET finished_at = now() - interval '2 hours'");
  CAF_CHECK(enqueue_jobs(*conn, {15}, reviving)[0].extension_queued);
  CAF_CHECK_EQUAL(state_of(id), "pending");
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM backfill_jobs"
                              " WHERE kind = 'extend'"),
                  1);
}

CAF_TEST(a symbol with no data twice in a row fails for good) {
  enqueue({12});
  queue_settings reviving = me;
  reviving.revive_after = 1ms;
  auto give_up = [&](const std::string& reason) {
    claim_and_give_up(reviving, reason);
    exec("UPDATE backfill_jobs SET finished_at = now() - interval '1 hour'");
  };
  give_up("gave up after 8 attempts: no_data: empty chart");
  auto first = enqueue_jobs(*conn, {12}, reviving);
  CAF_CHECK_EQUAL(first.at(0).outcome, enqueue_outcome::queued);
  give_up("gave up after 8 attempts: no_data: empty chart");
  CAF_CHECK(scalar<bool>("SELECT permanent FROM backfill_jobs"));
  auto again = enqueue_jobs(*conn, {12}, reviving);
  CAF_CHECK_EQUAL(again[0].outcome, enqueue_outcome::failed_before);
  CAF_CHECK(again[0].last_error.find("given up for good") != std::string::npos);
  // An outage in between breaks the streak.
  CAF_CHECK_EQUAL(retry_failed(*conn, "AMD"), 1);
  give_up("gave up after 8 attempts: no_data: empty chart");
  enqueue_jobs(*conn, {12}, reviving);
  give_up("gave up after 8 attempts: HTTP 503");
  enqueue_jobs(*conn, {12}, reviving);
  give_up("gave up after 8 attempts: no_data: empty chart");
  CAF_CHECK(!scalar<bool>("SELECT permanent FROM backfill_jobs"));
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM backfill_jobs"), 1);
}

CAF_TEST(a first transaction is dated in UTC whatever the session zone) {
  // Far from UTC both ways: the day must not move.
  exec("SET TimeZone = 'Pacific/Kiritimati'");
  transaction(12, 1, "TIMESTAMPTZ '2024-03-10 23:30:00+00'");
  enqueue({12});
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  auto day = scalar<int>("SELECT DATE '2024-03-10' - DATE '1970-01-01'");
  CAF_CHECK_EQUAL(jobs[0].first_transaction, day);
  // A tracker whose column has no time zone: the day is the one written.
  exec("ALTER TABLE transactions ALTER COLUMN timestamp"
       " TYPE timestamp USING timestamp AT TIME ZONE 'UTC'");
  exec("SET TimeZone = 'Pacific/Pago_Pago'");
  transaction(13, 1, "TIMESTAMP '2024-03-10 00:30:00'");
  enqueue({13});
  jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK_EQUAL(jobs[0].first_transaction, day);
  exec("SET TimeZone = 'Pacific/Kiritimati'");
  transaction(14, 1, "TIMESTAMP '2024-03-10 23:30:00'");
  enqueue({14});
  jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK_EQUAL(jobs[0].first_transaction, day);
}

CAF_TEST(an asset whose transactions are all gone is still a candidate) {
  transaction(15, 1, "now()");
  exec("INSERT INTO tracked_assets (asset_id, tracking_users)"
       " VALUES (15, 1)");
  exec("DELETE FROM transactions");
  CAF_CHECK_EQUAL(all_assets_with_transactions(*conn).assets,
                  std::vector<asset_id>{15});
  // It has prices: only its tracking is refreshed, no job.
  CAF_CHECK_EQUAL(outcome_of(15), enqueue_outcome::has_prices);
  exec("UPDATE tracked_assets SET tracking_users = 0");
  CAF_CHECK(all_assets_with_transactions(*conn).assets.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
