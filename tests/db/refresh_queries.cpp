#define CAF_SUITE refresh_queries
#include "queue_fixture.hpp"

#include <set>
#include <string>

#include "db/price_queries.hpp"
#include "db/refresh_queries.hpp"

using namespace backfilld;
using namespace backfilld::test;

namespace {

struct fixture : queue_fixture {
  fixture() {
    // AMD (12) and AAPL (15) are tracked and have prices; BTC (13) is
    // tracked crypto; EUR (14) is cash.
    exec(R"sql(
      INSERT INTO asset_prices (asset_id, date, close)
        SELECT 12, d::date, 50 FROM generate_series(current_date - 40,
                                                    current_date - 1,
                                                    interval '1 day') d
        WHERE extract(isodow FROM d) < 6;
      INSERT INTO asset_prices (asset_id, date, close)
        VALUES (13, current_date - 1, 40000), (14, current_date - 1, 1);
      INSERT INTO tracked_assets (asset_id, tracking_users) VALUES
        (12, 1), (13, 2), (14, 1), (15, 1);
      INSERT INTO backfilld_asset_state (asset_id, exchange_timezone) VALUES
        (12, 'America/New_York'), (13, 'UTC'), (15, 'America/New_York');
    )sql");
  }

  refresh_batch run(const std::string& zone = {}, asset_id after = 0,
                    int32_t batch = 100) {
    return enqueue_refreshes(*conn, zone, after, std::chrono::milliseconds{0},
                             batch);
  }

  /// The newest stored day of AMD, and the stored day before it.
  std::pair<day_number, day_number> newest_two() {
    auto rows = exec("SELECT date - DATE '1970-01-01' FROM asset_prices"
                     " WHERE asset_id = 12 ORDER BY date DESC LIMIT 2");
    return {rows[0][0].as<day_number>(), rows[1][0].as<day_number>()};
  }

  std::set<asset_id> refresh_jobs(const std::string& state = "pending") {
    std::set<asset_id> result;
    for (const auto& row :
         exec("SELECT asset_id FROM backfill_jobs WHERE kind = 'refresh'"
              " AND state = '" +
              state + "'"))
      result.insert(row[0].as<asset_id>());
    return result;
  }
};

using ids = std::set<asset_id>;

price_bar bar(day_number day, double close) {
  price_bar b;
  b.day = day;
  b.open = b.high = b.low = b.close = close;
  return b;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(refresh_queries_tests, fixture)

CAF_TEST(a run queues a refresh per tracked asset with a market price) {
  auto batch = run();
  CAF_CHECK_EQUAL(batch.queued, 3);
  CAF_CHECK(!batch.more);
  // Cash has no market price.
  CAF_CHECK_EQUAL(refresh_jobs(), ids({12, 13, 15}));
  // A second run finds them all live: nothing twice.
  CAF_CHECK_EQUAL(run().queued, 0);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM backfill_jobs"), 3);
}

CAF_TEST(a run goes in batches by asset id) {
  auto first = run({}, 0, 2);
  CAF_CHECK_EQUAL(first.queued, 2);
  CAF_CHECK_EQUAL(first.last, 13);
  CAF_CHECK(first.more);
  auto second = run({}, first.last, 2);
  CAF_CHECK_EQUAL(second.queued, 1);
  CAF_CHECK(!second.more);
  CAF_CHECK_EQUAL(refresh_jobs(), ids({12, 13, 15}));
}

CAF_TEST(a zone run covers only that zone and zones are listed) {
  CAF_CHECK_EQUAL(refresh_zones(*conn),
                  (std::set<std::string>{"America/New_York", "UTC"}));
  CAF_CHECK_EQUAL(run("UTC").queued, 1);
  CAF_CHECK_EQUAL(refresh_jobs(), ids({13}));
}

CAF_TEST(inactive untracked or busy assets and fresh ones are skipped) {
  exec("UPDATE backfilld_asset_state SET inactive_since = now()"
       " WHERE asset_id = 13");
  exec("UPDATE tracked_assets SET tracking_users = 0 WHERE asset_id = 15");
  exec("INSERT INTO backfill_jobs (asset_id, kind, want_from)"
       " VALUES (12, 'extend', current_date - 400)");
  CAF_CHECK_EQUAL(run().queued, 0);
  exec("UPDATE backfill_jobs SET state = 'done'");
  exec("UPDATE backfilld_asset_state SET last_refresh_at = now()"
       " WHERE asset_id = 12");
  CAF_CHECK_EQUAL(
    enqueue_refreshes(*conn, {}, 0, std::chrono::milliseconds{3'600'000}, 100)
      .queued,
    0);
  CAF_CHECK_EQUAL(run().queued, 1);
}

CAF_TEST(a finished refresh is revived in its own row) {
  run();
  exec("UPDATE backfill_jobs SET state = 'done', finished_at = now()");
  exec("UPDATE backfill_jobs SET state = 'failed', permanent = true"
       " WHERE asset_id = 13");
  CAF_CHECK_EQUAL(run().queued, 3);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM backfill_jobs"), 3);
  CAF_CHECK_EQUAL(refresh_jobs(), ids({12, 13, 15}));
}

CAF_TEST(a new backfill is claimed before a large refresh backlog) {
  exec(R"sql(
    INSERT INTO assets (id, symbol)
      SELECT 1000 + i, 'R' || i FROM generate_series(1, 2000) i;
    INSERT INTO backfill_jobs (asset_id, kind, priority, next_attempt_at)
      SELECT 1000 + i, 'refresh', 1, now() - interval '1 hour'
      FROM generate_series(1, 2000) i;
  )sql");
  transaction(12, 1, "now()");
  exec("INSERT INTO backfill_jobs (asset_id, kind) VALUES (12, 'backfill')");
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK_EQUAL(jobs[0].asset, 12);
  CAF_CHECK(jobs[0].kind == job_kind::backfill);
  auto next = claim(3, me);
  CAF_REQUIRE_EQUAL(next.size(), 3u);
  CAF_CHECK(next[0].kind == job_kind::refresh);
}

CAF_TEST(a claimed refresh carries its last stored day and earliest hole) {
  // Two missing trading days in a row (a holiday next to a weekend).
  exec("DELETE FROM asset_prices WHERE asset_id = 12 AND date IN (SELECT date"
       " FROM asset_prices WHERE asset_id = 12 AND date < current_date - 10"
       " ORDER BY date DESC LIMIT 2)");
  run("America/New_York", 0, 1);
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK(jobs[0].kind == job_kind::refresh);
  auto last = scalar<int>(
    "SELECT max(date) - DATE '1970-01-01' FROM asset_prices WHERE asset_id "
    "= 12");
  CAF_CHECK_EQUAL(jobs[0].last_price, last);
  // Weekends and a two-day holiday are no hole.
  CAF_CHECK_EQUAL(jobs[0].want_from, no_day);
  CAF_CHECK(fail_job(
    *conn, job_verdict{jobs[0].id, verdict_action::retry, 0, true, "transient"},
    me));
  // A week without prices is one: the refresh starts before it.
  exec("DELETE FROM asset_prices WHERE asset_id = 12"
       " AND date BETWEEN current_date - 30 AND current_date - 22");
  auto before = scalar<int>(
    "SELECT max(date) - DATE '1970-01-01' FROM asset_prices WHERE asset_id "
    "= 12 AND date < current_date - 30");
  jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK_EQUAL(jobs[0].want_from, before);
}

CAF_TEST(a hole a refresh covered is not asked for again) {
  // A week the provider has nothing for (a suspension, Golden Week).
  exec("DELETE FROM asset_prices WHERE asset_id = 12"
       " AND date BETWEEN current_date - 30 AND current_date - 22");
  run("America/New_York", 0, 1);
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_REQUIRE_NOT_EQUAL(jobs[0].want_from, no_day);
  // The refresh asked from the hole on and stored what came: the hole
  // stays, and so does every later refresh's answer.
  note_written(*conn, jobs[0], "America/New_York");
  CAF_CHECK(finish_job(*conn, jobs[0].id, me));
  CAF_CHECK_EQUAL(run("America/New_York", 0, 1).queued, 1);
  jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK_EQUAL(jobs[0].want_from, no_day);
  // A hole after that day is looked for as before.
  exec("DELETE FROM asset_prices WHERE asset_id = 12 AND date IN (SELECT date"
       " FROM asset_prices WHERE asset_id = 12 ORDER BY date DESC LIMIT 6)"
       " AND date < (SELECT max(date) FROM asset_prices WHERE asset_id = 12)");
  exec("UPDATE backfilld_asset_state SET holes_checked_through ="
       " holes_checked_through - 10 WHERE asset_id = 12");
  CAF_CHECK(finish_job(*conn, jobs[0].id, me));
  run("America/New_York", 0, 1);
  jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK_NOT_EQUAL(jobs[0].want_from, no_day);
}

CAF_TEST(a refresh stores new days and counts only rows that changed) {
  auto [last, before] = newest_two();
  price_series s;
  s.source = "yahoo";
  s.bars = {bar(before, 50), bar(last, 50.1), bar(last + 1, 51)};
  // The stored day before the last one is replayed (only close stored
  // there so far: open/high/low change), the last is corrected, one is new.
  auto summary = write_refresh(*conn, 12, s);
  CAF_CHECK(!summary.basis_changed());
  CAF_CHECK_EQUAL(summary.changed, 3);
  // The same answer again changes nothing.
  CAF_CHECK_EQUAL(write_refresh(*conn, 12, s).changed, 0);
}

CAF_TEST(the newest stored day is corrected in place whatever the change) {
  auto [last, before] = newest_two();
  price_series s;
  s.source = "yahoo";
  s.bars = {bar(before, 50), bar(last, 53)};
  auto summary = write_refresh(*conn, 12, s);
  CAF_CHECK(!summary.basis_changed());
  CAF_CHECK_EQUAL(scalar<double>("SELECT close FROM asset_prices WHERE "
                                 "asset_id = 12 ORDER BY date DESC LIMIT 1"),
                  53.0);
}

CAF_TEST(a refresh on another basis writes nothing) {
  auto [last, before] = newest_two();
  price_series s;
  s.source = "yahoo";
  s.bars = {bar(before, 25), bar(last, 25), bar(last + 1, 26)};
  auto summary = write_refresh(*conn, 12, s);
  CAF_CHECK(summary.basis_changed());
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices WHERE "
                              "asset_id = 12 AND close <> 50"),
                  0);
}

CAF_TEST(days of no data make an asset inactive and retry revives it) {
  run("UTC");
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  auto reason = std::string{"symbol_not_found: No data found"};
  CAF_CHECK(says_no_data(reason));
  CAF_CHECK(!says_no_data("provider_unavailable: HTTP 503"));
  CAF_CHECK(says_no_data("yahoo: symbol_not_found: Not Found; coingecko: "
                         "symbol_not_found: no CoinGecko coin id for X"));
  CAF_CHECK(!says_no_data("yahoo: provider_unavailable: HTTP 503; "
                          "coingecko: symbol_not_found: coin not found"));
  CAF_CHECK_EQUAL(note_refresh_failure(*conn, jobs[0].id, reason, true, 10),
                  "");
  CAF_CHECK_EQUAL(scalar<int>("SELECT no_data_days FROM backfilld_asset_state"
                              " WHERE asset_id = 13"),
                  1);
  // Nine days later, still nothing: the tenth day of it.
  exec("UPDATE backfilld_asset_state SET no_data_since = current_date - 9"
       " WHERE asset_id = 13");
  auto note = note_refresh_failure(*conn, jobs[0].id, reason, true, 10);
  CAF_CHECK(note.find("BTC is marked inactive") == 0);
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT inactive_reason FROM "
                                      "backfilld_asset_state WHERE asset_id "
                                      "= 13")
                    .find("no data for 10 days"),
                  0u);
  exec("UPDATE backfill_jobs SET state = 'failed'");
  CAF_CHECK_EQUAL(run("UTC").queued, 0);
  CAF_CHECK_EQUAL(reactivate_assets(*conn, "btc"), 1);
  CAF_CHECK_EQUAL(run("UTC").queued, 1);
}

CAF_TEST(a failed refresh is counted in the transaction of its verdict) {
  // A rerun after a broken connection finds the lease gone: the verdict is
  // its only chance to count the day.
  run("UTC");
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  auto once = me;
  once.delisted_after = 1;
  std::string inactive;
  CAF_CHECK(fail_job(*conn,
                     job_verdict{jobs[0].id, verdict_action::give_up, 0, false,
                                 "symbol_not_found: No data found"},
                     once, &inactive));
  CAF_CHECK_EQUAL(inactive.find("BTC is marked inactive"), 0u);
  CAF_CHECK_EQUAL(scalar<int>("SELECT no_data_days FROM backfilld_asset_state"
                              " WHERE asset_id = 13 AND inactive_since IS NOT"
                              " NULL"),
                  1);
}

CAF_TEST(a success ends a run of no data and records the zone) {
  run("UTC");
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  note_refresh_failure(*conn, jobs[0].id, "no_data: nothing", true, 1);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM backfilld_asset_state"
                              " WHERE inactive_since IS NOT NULL"),
                  1);
  note_written(*conn, jobs[0], "Etc/UTC");
  // It answers again (an operator's refresh): scheduled refreshes resume.
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM backfilld_asset_state"
                              " WHERE inactive_since IS NOT NULL"),
                  0);
  auto row = exec("SELECT exchange_timezone, no_data_days, no_data_since IS "
                  "NULL, last_refresh_at IS NOT NULL, last_error IS NULL"
                  " FROM backfilld_asset_state WHERE asset_id = 13")[0];
  CAF_CHECK_EQUAL(row[0].as<std::string>(), "Etc/UTC");
  CAF_CHECK_EQUAL(row[1].as<int>(), 0);
  CAF_CHECK(row[2].as<bool>());
  CAF_CHECK(row[3].as<bool>());
  CAF_CHECK(row[4].as<bool>());
  // Failures of other kinds leave the state alone.
  exec("INSERT INTO backfill_jobs (id, asset_id, kind) VALUES (900, 15, "
       "'backfill')");
  note_refresh_failure(*conn, 900, "no_data: x", true, 1);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM backfilld_asset_state"
                              " WHERE asset_id = 15 AND last_error IS NOT "
                              "NULL"),
                  0);
}

CAF_TEST(stale assets are tracked ones whose newest price is too old) {
  // AAPL's newest price is 29 days old; AMD's and BTC's are yesterday's.
  auto stale = stale_assets(*conn, 3);
  CAF_REQUIRE_EQUAL(stale.size(), 1u);
  CAF_CHECK_EQUAL(stale[0].symbol, "AAPL");
  exec("UPDATE backfilld_asset_state SET last_error = 'HTTP 503'"
       " WHERE asset_id = 15");
  // Kept alive while CAF_CHECK_EQUAL compares.
  auto with_error = stale_assets(*conn, 3);
  CAF_REQUIRE_EQUAL(with_error.size(), 1u);
  CAF_CHECK_EQUAL(with_error[0].last_error, "HTTP 503");
  CAF_CHECK_EQUAL(stale_assets(*conn, 40).size(), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
