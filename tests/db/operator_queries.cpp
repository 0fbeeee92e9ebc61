#define CAF_SUITE operator_queries
#include "db/operator_queries.hpp"
#include "queue_fixture.hpp"

using namespace backfilld;
using namespace backfilld::test;

namespace {

std::vector<job_id> ids_of(const std::vector<queued_job>& jobs) {
  std::vector<job_id> ids;
  for (const auto& j : jobs)
    ids.push_back(j.id);
  return ids;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(operator_queries_tests, queue_fixture)

CAF_TEST(a one shot job reuses the live job or revives the row) {
  auto first = queue_now(*conn, {12}, job_kind::backfill, no_day);
  CAF_REQUIRE_EQUAL(first.size(), 1u);
  CAF_CHECK_EQUAL(first[0].state, "pending");
  // Again: the same live job, not a second one.
  auto again = queue_now(*conn, {12}, job_kind::backfill, 19'000);
  CAF_REQUIRE_EQUAL(again.size(), 1u);
  CAF_CHECK_EQUAL(again[0].id, first[0].id);
  CAF_CHECK_EQUAL(scalar<int>("SELECT want_from - DATE '1970-01-01' FROM"
                              " backfill_jobs"),
                  19'000);
  // A failed job is revived in its row with fresh attempts and no error.
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK(fail_job(*conn,
                     job_verdict{jobs[0].id, verdict_action::give_up_permanent,
                                 0, false, "symbol_not_found: gone"},
                     me));
  auto revived = queue_now(*conn, {12, 13}, job_kind::backfill, no_day);
  CAF_REQUIRE_EQUAL(revived.size(), 2u);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM backfill_jobs"), 2);
  CAF_CHECK_EQUAL(scalar<std::string>(
                    "SELECT state || attempts || coalesce(last_error, '-')"
                    " || (want_from IS NULL) || permanent FROM backfill_jobs"
                    " WHERE asset_id = 12"),
                  "pending0-truefalse");
}

CAF_TEST(a one shot refresh waits behind backfills like a scheduled one) {
  // An interrupted `refresh --all` must not leave thousands of refreshes
  // ahead of a new asset's first backfill.
  queue_now(*conn, {12}, job_kind::refresh, no_day);
  queue_now(*conn, {13}, job_kind::backfill, no_day);
  CAF_CHECK_EQUAL(
    scalar<std::string>("SELECT string_agg(kind || priority, ',' ORDER BY kind)"
                        " FROM backfill_jobs"),
    "backfill0,refresh1");
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK_EQUAL(jobs[0].asset, 13);
  // Revived, a refresh row keeps its place too.
  exec("UPDATE backfill_jobs SET state = 'done', priority = 0");
  queue_now(*conn, {12}, job_kind::refresh, no_day);
  CAF_CHECK_EQUAL(scalar<int>("SELECT priority FROM backfill_jobs"
                              " WHERE kind = 'refresh'"),
                  1);
}

CAF_TEST(refresh all takes what the scheduler would) {
  // AMD: tracked with prices; BTC: inactive; EUR: cash; AAPL: untracked;
  // 16: tracked, waiting for its first backfill.
  exec(R"sql(
    INSERT INTO assets (id, symbol, asset_type) VALUES (16, 'NEW', 'stock');
    INSERT INTO asset_prices (asset_id, date, close) VALUES
      (12, current_date - 1, 50), (13, current_date - 1, 40000),
      (14, current_date - 1, 1);
    INSERT INTO tracked_assets (asset_id, tracking_users) VALUES
      (12, 1), (13, 1), (14, 1), (15, 0), (16, 1);
    INSERT INTO backfilld_asset_state (asset_id, inactive_since)
      VALUES (13, now());
  )sql");
  auto refs = refreshable_assets(*conn);
  CAF_REQUIRE_EQUAL(refs.size(), 1u);
  CAF_CHECK_EQUAL(refs[0].symbol, "AMD");
  CAF_CHECK_EQUAL(tracked_assets(*conn).size(), 4u);
}

CAF_TEST(a one shot claim takes only its own jobs) {
  auto mine = queue_now(*conn, {13}, job_kind::backfill, no_day);
  queue_now(*conn, {12}, job_kind::backfill, no_day);
  auto one_shot = me;
  one_shot.only_jobs = ids_of(mine);
  auto jobs = claim(10, one_shot);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK_EQUAL(jobs[0].asset, 13);
  CAF_CHECK(claim(10, one_shot).empty());
  // The daemon's claims take any job.
  CAF_CHECK_EQUAL(claim(10, other).size(), 1u);
}

CAF_TEST(an attempt that failed shows in the progress until revived) {
  auto queued = queue_now(*conn, {12}, job_kind::backfill, no_day);
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK(fail_job(
    *conn, job_verdict{jobs[0].id, verdict_action::retry, 60'000, false, "503"},
    me));
  auto progress = job_progresses(*conn, ids_of(queued));
  CAF_REQUIRE_EQUAL(progress.size(), 1u);
  CAF_CHECK_EQUAL(progress[0].state, "pending");
  CAF_CHECK_EQUAL(progress[0].last_error, "503");
  CAF_CHECK(!progress[0].next_attempt_at.empty());
  queue_now(*conn, {12}, job_kind::backfill, no_day);
  progress = job_progresses(*conn, ids_of(queued));
  CAF_CHECK_EQUAL(progress[0].last_error, "");
  CAF_CHECK_EQUAL(progress[0].next_attempt_at, "");
}

CAF_TEST(status lists assets with prices or tracking or jobs) {
  // AAPL (15) has prices; AMD (12) a job; BTC (13) a tracking row.
  queue_now(*conn, {12}, job_kind::backfill, no_day);
  exec("INSERT INTO tracked_assets VALUES (13, 2, '2026-11-30 22:00+00')");
  exec("UPDATE asset_prices SET source = 'yahoo' WHERE asset_id = 15");
  auto report = read_status(*conn, {});
  CAF_REQUIRE_EQUAL(report.assets.size(), 3u);
  const auto& aapl = report.assets[0];
  CAF_CHECK_EQUAL(aapl.symbol, "AAPL");
  CAF_CHECK_EQUAL(aapl.rows, 2);
  CAF_CHECK_EQUAL(aapl.last_day - aapl.first_day, 370 - 29);
  CAF_CHECK_EQUAL(aapl.source, "yahoo");
  CAF_CHECK_EQUAL(aapl.tracking_users, -1);
  CAF_CHECK_EQUAL(aapl.job_kind, "");
  const auto& amd = report.assets[1];
  CAF_CHECK_EQUAL(amd.symbol, "AMD");
  CAF_CHECK_EQUAL(amd.rows, 0);
  CAF_CHECK_EQUAL(amd.first_day, no_day);
  CAF_CHECK_EQUAL(amd.job_kind + " " + amd.job_state, "backfill pending");
  const auto& btc = report.assets[2];
  CAF_CHECK_EQUAL(btc.tracking_users, 2);
  CAF_CHECK_EQUAL(btc.last_update, "2026-11-30T22:00:00Z");
  CAF_REQUIRE_EQUAL(report.jobs.size(), 1u);
  CAF_CHECK_EQUAL(report.jobs[0].jobs, 1);
  // One asset: its line and its jobs only.
  auto one = read_status(*conn, {15});
  CAF_REQUIRE_EQUAL(one.assets.size(), 1u);
  CAF_CHECK_EQUAL(one.assets[0].asset, 15);
  CAF_CHECK(one.jobs.empty());
}

CAF_TEST(inactive assets and held back bars come from their own tables) {
  exec("INSERT INTO backfilld_asset_state (asset_id, inactive_since,"
       " inactive_reason, last_error) VALUES (15, '2026-11-01 00:00Z',"
       " 'no data', 'symbol_not_found: gone')");
  exec("INSERT INTO price_outliers (asset_id, date, reason) VALUES"
       " (15, '2026-10-01', 'spike'), (15, '2026-10-02', 'spike'),"
       " (12, '2026-10-02', 'spike')");
  auto report = read_status(*conn, {15});
  CAF_REQUIRE_EQUAL(report.assets.size(), 1u);
  CAF_CHECK_EQUAL(report.assets[0].inactive_since, "2026-11-01");
  CAF_CHECK_EQUAL(report.assets[0].inactive_reason, "no data");
  CAF_CHECK_EQUAL(report.assets[0].last_error, "symbol_not_found: gone");
  CAF_CHECK_EQUAL(report.assets[0].held_back, 2);
}

CAF_TEST(assets are found by symbol in any case or by id) {
  CAF_CHECK_EQUAL(assets_by_symbol(*conn, "amd").size(), 1u);
  CAF_CHECK(assets_by_symbol(*conn, "NOPE").empty());
  // Kept alive while CAF_CHECK_EQUAL compares.
  auto btc = asset_by_id(*conn, 13);
  CAF_REQUIRE_EQUAL(btc.size(), 1u);
  CAF_CHECK_EQUAL(btc[0].symbol, "BTC");
  CAF_CHECK(asset_by_id(*conn, 99).empty());
  exec("INSERT INTO tracked_assets VALUES (13, 1, NULL), (12, 0, NULL)");
  auto tracked = tracked_assets(*conn);
  CAF_REQUIRE_EQUAL(tracked.size(), 1u);
  CAF_CHECK_EQUAL(tracked[0].id, 13);
}

CAF_TEST_FIXTURE_SCOPE_END()
