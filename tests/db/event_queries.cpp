#define CAF_SUITE event_queries
#include <caf/test/unit_test.hpp>

#include "db/event_queries.hpp"
#include "db_fixture.hpp"

using namespace backfilld;
using namespace backfilld::test;

namespace {

struct fixture : db_fixture {
  fixture() {
    exec("INSERT INTO assets (id, symbol, asset_type) VALUES"
         " (12, 'NFLX', 'stock'), (16, 'VOD.L', 'stock')");
  }

  /// Bars from day 19'000 on with closes `base`, `base + 1`, …
  price_series series(int n, double base = 1000, day_number first = 19'000) {
    price_series s;
    s.source = "yahoo";
    s.currency = "USD";
    for (int i = 0; i < n; ++i) {
      double close = base + i;
      s.bars.push_back(
        price_bar{first + i, close, close + 2, close - 1, close, close, 1000});
    }
    return s;
  }

  backfill_job job(job_kind kind = job_kind::backfill) {
    backfill_job j;
    j.id = 1;
    j.asset = 12;
    j.kind = kind;
    j.symbol = "NFLX";
    return j;
  }

  static price_event split(day_number day, double numerator,
                           double denominator) {
    price_event e;
    e.day = day;
    e.kind = event_kind::split;
    e.numerator = numerator;
    e.denominator = denominator;
    return e;
  }

  static price_event dividend(day_number day, double amount) {
    price_event e;
    e.day = day;
    e.amount = amount;
    return e;
  }

  template <class F>
  static bool throws(F f) {
    try {
      f();
    } catch (const pqxx::sql_error&) {
      return true;
    }
    return false;
  }

  int count(const std::string& table) {
    return scalar<int>("SELECT count(*) FROM " + table);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(event_queries_tests, fixture)

CAF_TEST(a stored series is noted in the refresh state in its transaction) {
  // A rerun after a broken connection stores nothing new: only the first,
  // committed with the prices, may tell when the asset was refreshed.
  auto s = series(5);
  s.exchange_timezone = "America/New_York";
  CAF_CHECK(!store_series(*conn, job(job_kind::refresh), s).basis_changed());
  auto row = exec("SELECT exchange_timezone, last_refresh_at IS NOT NULL"
                  " FROM backfilld_asset_state WHERE asset_id = 12");
  CAF_REQUIRE_EQUAL(row.size(), 1u);
  CAF_CHECK_EQUAL(row[0][0].as<std::string>(), "America/New_York");
  CAF_CHECK(row[0][1].as<bool>());
  // An answer on another basis writes nothing, the state neither.
  exec("DELETE FROM backfilld_asset_state");
  auto split_later = series(5, 100, 19'010);
  split_later.events = {split(19'012, 10, 1)};
  CAF_CHECK(
    store_series(*conn, job(job_kind::refresh), split_later).basis_changed());
  CAF_CHECK_EQUAL(count("backfilld_asset_state"), 0);
}

CAF_TEST(events are stored with the prices and upserted) {
  auto s = series(10);
  s.events = {split(19'003, 10, 1), dividend(19'005, 0.24)};
  auto summary = store_series(*conn, job(), s);
  CAF_CHECK(!summary.basis_changed());
  CAF_CHECK_EQUAL(summary.bars, 10);
  CAF_CHECK_EQUAL(
    scalar<std::string>(
      "SELECT string_agg(date || ' ' || kind || ' ' || coalesce(amount::text,"
      " '-') || ' ' || coalesce(numerator::text, '-') || ':' ||"
      " coalesce(denominator::text, '-') || ' ' || source, '; ' ORDER BY date)"
      " FROM asset_events WHERE asset_id = 12 AND fetched_at IS NOT NULL"),
    "2022-01-11 split - 10:1 yahoo; 2022-01-13 dividend 0.24 -:- yahoo");
  // The provider corrects an amount: the later answer wins, nothing doubles.
  s.events[1].amount = 0.25;
  store_series(*conn, job(), s);
  CAF_CHECK_EQUAL(count("asset_events"), 2);
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT amount::text FROM asset_events"
                                      " WHERE kind = 'dividend'"),
                  "0.25");
}

CAF_TEST(prices and events are stored together or not at all) {
  auto s = series(3);
  // A day PostgreSQL cannot represent fails the event's insert, after the
  // prices: they must go too.
  s.events = {dividend(19'001, 0.24), dividend(2'147'483'000, 0.24)};
  CAF_CHECK(throws([&] { store_series(*conn, job(), s); }));
  CAF_CHECK_EQUAL(count("asset_events"), 0);
  CAF_CHECK_EQUAL(count("asset_prices"), 0);
}

CAF_TEST(a group commit stores each job or says why not) {
  // VOD.L on the old basis; its refresh below announces a new split.
  auto vod = job();
  vod.asset = 16;
  store_series(*conn, vod, series(20, 1000));
  auto recent = series(5, 100.0, 19'016);
  recent.events = {split(19'018, 10, 1)};
  auto unknown = job();
  unknown.asset = 99; // Not in assets: the foreign key refuses it.
  auto nflx = series(3);
  nflx.events = {dividend(19'001, 0.24)};
  auto outcomes =
    store_batch(*conn, {{unknown, series(2)}, {vod, recent}, {job(), nflx}});
  CAF_REQUIRE_EQUAL(outcomes.size(), 3u);
  CAF_CHECK(outcomes[0].failed());
  CAF_CHECK(outcomes[0].error.find("foreign key") != std::string::npos);
  CAF_CHECK_EQUAL(outcomes[1].error, "");
  CAF_CHECK_EQUAL(outcomes[1].summary.disagreement,
                  "a new split 10:1 on 2022-01-26");
  CAF_CHECK_EQUAL(outcomes[2].error, "");
  CAF_CHECK_EQUAL(outcomes[2].summary.changed, 3);
  // NFLX stored with its dividend; nothing of VOD.L's refresh, nothing of
  // the unknown asset.
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"
                              " WHERE asset_id = 12"),
                  3);
  CAF_CHECK_EQUAL(count("asset_events"), 1);
  CAF_CHECK_EQUAL(scalar<double>("SELECT close::float8 FROM asset_prices"
                                 " WHERE asset_id = 16"
                                 " AND date = DATE '1970-01-01' + 19016"),
                  1016.0);
  CAF_CHECK_EQUAL(count("asset_prices"), 23);
}

CAF_TEST(a group commit survives another writer of a first backfills days) {
  // NFLX's plain INSERT loses the race for one day inside the batch: its
  // savepoint undoes that INSERT, the upsert stores it, and VOD.L in the
  // same transaction is untouched.
  auto vod = job();
  vod.asset = 16;
  std::vector<stored_outcome> outcomes;
  race_with_uncommitted("INSERT INTO asset_prices (asset_id, date, close)"
                        " VALUES (12, DATE '1970-01-01' + 19002, 1)",
                        [&] {
                          outcomes = store_batch(
                            *conn, {{vod, series(4, 500)}, {job(), series(5)}});
                        });
  CAF_REQUIRE_EQUAL(outcomes.size(), 2u);
  CAF_CHECK_EQUAL(outcomes[0].error, "");
  CAF_CHECK_EQUAL(outcomes[1].error, "");
  CAF_CHECK_EQUAL(outcomes[1].summary.bars, 5);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"
                              " WHERE asset_id = 12"),
                  5);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"
                              " WHERE asset_id = 16"),
                  4);
  CAF_CHECK_EQUAL(scalar<double>("SELECT close::float8 FROM asset_prices"
                                 " WHERE asset_id = 12"
                                 " AND date = DATE '1970-01-01' + 19002"),
                  1002.0);
}

CAF_TEST(a group commit that cannot commit stores one job per transaction) {
  // A deferred check fails at commit, after every savepoint was released:
  // nothing of the batch stays, and each job is stored again alone, so that
  // the one bad asset does not take the others with it.
  exec("CREATE FUNCTION refuse_16() RETURNS trigger LANGUAGE plpgsql AS $$"
       " BEGIN IF NEW.asset_id = 16 THEN"
       " RAISE EXCEPTION 'asset 16 refused at commit'; END IF;"
       " RETURN NULL; END $$");
  exec("CREATE CONSTRAINT TRIGGER refuse_16 AFTER INSERT ON asset_prices"
       " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
       " EXECUTE FUNCTION refuse_16()");
  auto vod = job();
  vod.id = 2;
  vod.asset = 16;
  auto nflx = series(3);
  nflx.exchange_timezone = "America/New_York";
  auto outcomes =
    store_batch(*conn, {{job(), nflx}, {vod, series(4)}, {job(), series(5)}});
  CAF_REQUIRE_EQUAL(outcomes.size(), 3u);
  CAF_CHECK_EQUAL(outcomes[0].error, "");
  CAF_CHECK_EQUAL(outcomes[0].summary.changed, 3);
  CAF_CHECK(outcomes[1].failed());
  CAF_CHECK(outcomes[1].error.find("asset 16 refused at commit") !=
            std::string::npos);
  CAF_CHECK_EQUAL(outcomes[1].code, ec::database_error);
  // The third, alone after the first: two more days of NFLX.
  CAF_CHECK_EQUAL(outcomes[2].error, "");
  CAF_CHECK_EQUAL(outcomes[2].summary.changed, 2);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"
                              " WHERE asset_id = 12"),
                  5);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"
                              " WHERE asset_id = 16"),
                  0);
  // Each stored job's refresh state came with its own transaction.
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT exchange_timezone FROM"
                                      " backfilld_asset_state"
                                      " WHERE asset_id = 12"),
                  "America/New_York");
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM backfilld_asset_state"
                              " WHERE asset_id = 16"),
                  0);
}

CAF_TEST(a group commit of one job needs no savepoint and fails alone) {
  auto unknown = job();
  unknown.asset = 99; // Not in assets: the foreign key refuses it.
  auto outcomes = store_batch(*conn, {{unknown, series(2)}});
  CAF_REQUIRE_EQUAL(outcomes.size(), 1u);
  CAF_CHECK(outcomes[0].failed());
  CAF_CHECK_EQUAL(outcomes[0].code, ec::database_error);
  CAF_CHECK_EQUAL(count("asset_prices"), 0);
  // The connection is fine for the next one.
  auto next = store_batch(*conn, {{job(), series(2)}});
  CAF_CHECK_EQUAL(next[0].summary.changed, 2);
}

CAF_TEST(a new split over older stored history asks for a rewrite) {
  // A year on the old basis.
  store_series(*conn, job(), series(20, 1000));
  // A refresh of the last days announces a 10:1 split on day 19'018: Yahoo
  // serves every day of it on the new basis.
  auto recent = series(5, 100.0, 19'016);
  recent.events = {split(19'018, 10, 1)};
  auto summary = store_series(*conn, job(), recent);
  CAF_CHECK_EQUAL(summary.disagreement, "a new split 10:1 on 2022-01-26");
  // Nothing of it was written, not even the event.
  CAF_CHECK_EQUAL(count("asset_events"), 0);
  CAF_CHECK_EQUAL(scalar<double>("SELECT close::float8 FROM asset_prices"
                                 " WHERE date = DATE '1970-01-01' + 19016"),
                  1016.0);
  // The rewrite (from the first stored day) is stored whole, split and all.
  auto whole = series(21, 100.0);
  whole.events = recent.events;
  auto rewrite = job();
  rewrite.rewrite_reason = summary.disagreement;
  auto rewritten = store_series(*conn, rewrite, whole);
  CAF_CHECK(!rewritten.basis_changed());
  CAF_CHECK_EQUAL(scalar<double>("SELECT close::float8 FROM asset_prices"
                                 " WHERE date = DATE '1970-01-01' + 19000"),
                  100.0);
  CAF_CHECK_EQUAL(count("asset_events"), 1);
  // Once it is on record, the next refresh is a plain write.
  CAF_CHECK(!store_series(*conn, job(), recent).basis_changed());
  // A refresh's rewrite, asked from a margin before the first stored day,
  // stores from that day on: the history does not grow backwards.
  auto refresh_rewrite = job(job_kind::refresh);
  refresh_rewrite.rewrite_reason = "a new split";
  refresh_rewrite.first_price = 19'000;
  CAF_CHECK(!store_series(*conn, refresh_rewrite, series(30, 100.0, 18'993))
               .basis_changed());
  CAF_CHECK_EQUAL(scalar<int>("SELECT min(date) - DATE '1970-01-01'"
                              " FROM asset_prices"),
                  19'000);
}

CAF_TEST(a split the stored history already reflects needs no rewrite) {
  // Stored after the split (by a backfill before events were recorded).
  store_series(*conn, job(), series(20, 100));
  auto recent = series(5, 115.0, 19'015);
  recent.events = {split(19'018, 10, 1)};
  auto summary = store_series(*conn, job(), recent);
  CAF_CHECK(!summary.basis_changed());
  CAF_CHECK_EQUAL(count("asset_events"), 1);
}

CAF_TEST(a new dividend over older stored history asks for a rewrite) {
  // Most quarterly dividends move adj_close by less than basis_tolerance:
  // without the event the overlap gets the new factor, older days keep the
  // old one, and adj_close steps where the refresh window starts.
  store_series(*conn, job(), series(20, 1000));
  auto recent = series(5, 1016.0, 19'016);
  recent.events = {dividend(19'018, 0.24)};
  auto summary = store_series(*conn, job(job_kind::refresh), recent);
  CAF_CHECK_EQUAL(summary.disagreement, "a new dividend of 0.24 on 2022-01-26");
  CAF_CHECK_EQUAL(count("asset_events"), 0);
  auto rewrite = job(job_kind::refresh);
  rewrite.rewrite_reason = summary.disagreement;
  auto whole = series(21, 1000.0);
  whole.events = recent.events;
  CAF_CHECK(!store_series(*conn, rewrite, whole).basis_changed());
  CAF_CHECK_EQUAL(count("asset_events"), 1);
  // On record now: the next refresh is a plain write.
  CAF_CHECK(
    !store_series(*conn, job(job_kind::refresh), recent).basis_changed());
}

CAF_TEST(a dividend decided by pure rules) {
  auto recent = series(5, 100.0, 19'016);
  recent.events = {dividend(19'018, 0.24)};
  CAF_CHECK(new_dividend(recent, {}, no_day).empty());
  // The series covers every stored day: it rewrites them all.
  CAF_CHECK(new_dividend(recent, {}, 19'016).empty());
  CAF_CHECK(new_dividend(recent, {19'018}, 19'000).empty());
  CAF_CHECK_EQUAL(new_dividend(recent, {}, 19'000),
                  "a new dividend of 0.24 on 2022-01-26");
  // Before the stored history (an extension's): nothing stored before it.
  auto older = series(10, 100.0, 18'990);
  older.events = {dividend(18'995, 0.5)};
  CAF_CHECK(new_dividend(older, {}, 19'000).empty());
}

CAF_TEST(a split decided by pure rules) {
  auto recent = series(5, 100.0, 19'016);
  recent.events = {split(19'018, 1, 10)};
  // No history, or none before what the series covers: nothing to rewrite.
  CAF_CHECK(new_split_disagreement(recent, {}, no_day, {}).empty());
  CAF_CHECK(new_split_disagreement(recent, {}, 19'016, {}).empty());
  // Known already.
  CAF_CHECK(new_split_disagreement(recent, {19'018}, 19'000, {}).empty());
  // Unknown, older history, nothing to compare: rewrite, naming the split.
  CAF_CHECK_EQUAL(new_split_disagreement(recent, {}, 19'000, {}),
                  "a new split 1:10 on 2022-01-26");
  // Stored days before the split that disagree: rewrite.
  std::vector<stored_close> old_basis{{19'016, 10.0, 10.0}};
  CAF_CHECK(!new_split_disagreement(recent, {}, 19'000, old_basis).empty());
  // A split after the series (announced, not yet effective) leaves the
  // stored days before it alone only when the series covers them.
  auto announced = series(5, 100.0, 19'016);
  announced.events = {split(19'030, 2, 1)};
  CAF_CHECK(!new_split_disagreement(announced, {}, 19'000, {}).empty());
}

CAF_TEST(an extension on another basis writes nothing and no events) {
  store_series(*conn, job(), series(5, 100, 19'010));
  auto older = series(11, 1000, 19'000); // overlaps 19'010 at 1010
  older.events = {dividend(19'002, 1.0)};
  auto ext = job(job_kind::extend);
  ext.first_price = 19'010;
  auto summary = store_series(*conn, ext, older);
  CAF_CHECK(summary.basis_changed());
  CAF_CHECK_EQUAL(count("asset_events"), 0);
  CAF_CHECK_EQUAL(count("asset_prices"), 5);
}

CAF_TEST(held bars are recorded once and cleared when corrected) {
  auto s = series(5, 5436);
  s.currency = "GBp";
  s.held = {held_bar{19'005, 69.98, "spike",
                     "close 69.98 between 5440 on 2022-01-08 and 5441 on "
                     "2022-01-10"}};
  auto first = store_series(*conn, job(), s);
  CAF_CHECK_EQUAL(first.new_outliers, std::vector<day_number>{19'005});
  CAF_CHECK_EQUAL(
    scalar<std::string>("SELECT date || ' ' || close || ' ' || reason"
                        " FROM price_outliers WHERE asset_id = 12"),
    "2022-01-13 69.98 spike");
  CAF_CHECK(scalar<bool>("SELECT evidence LIKE '%5440%' AND seen_at > now() -"
                         " interval '1 hour' FROM price_outliers"));
  // Served again: on record already, so not new (and not logged again).
  CAF_CHECK(store_series(*conn, job(), s).new_outliers.empty());
  CAF_CHECK_EQUAL(count("price_outliers"), 1);
  // The provider corrects the day: it is stored and leaves the list.
  auto fixed = series(7, 5436);
  store_series(*conn, job(), fixed);
  CAF_CHECK_EQUAL(count("price_outliers"), 0);
  CAF_CHECK_EQUAL(count("asset_prices"), 7);
}

CAF_TEST(a print stored as the newest day goes once its neighbours show it) {
  // Yesterday's answer ended with the print: one neighbour, stored.
  auto yesterday = series(5, 5436);
  yesterday.bars[4].close = 69.98;
  store_series(*conn, job(), yesterday);
  // Another asset had the same close on that day from the tracker itself.
  exec("INSERT INTO asset_prices (asset_id, date, close, source) VALUES"
       " (16, DATE '1970-01-01' + 19004, 69.98, 'tracker')");
  // Today's answer has the day after: the print is held.
  auto today = series(6, 5436);
  today.bars.erase(today.bars.begin() + 4);
  today.held = {held_bar{19'004, 69.98, "spike", "close 69.98 between …"}};
  auto summary = store_series(*conn, job(), today);
  CAF_CHECK_EQUAL(summary.new_outliers, std::vector<day_number>{19'004});
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices WHERE"
                              " asset_id = 12 AND date = DATE '1970-01-01' +"
                              " 19004"),
                  0);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices WHERE"
                              " asset_id = 12"),
                  5);
  // Only our own copy of that close: another source's row stays.
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices WHERE"
                              " asset_id = 16"),
                  1);
  // A stored close that differs (the day was stored right) stays too.
  auto good = series(6, 5436);
  store_series(*conn, job(), good);
  today.held[0].close = 1.5;
  store_series(*conn, job(), today);
  CAF_CHECK_EQUAL(scalar<double>("SELECT close::float8 FROM asset_prices WHERE"
                                 " asset_id = 12 AND date = DATE '1970-01-01'"
                                 " + 19004"),
                  5440.0);
}

CAF_TEST(deleting an asset takes its events and outliers along) {
  auto s = series(3);
  s.events = {dividend(19'001, 0.5)};
  s.held = {held_bar{19'004, 1.0, "spike", "x"}};
  store_series(*conn, job(), s);
  exec("DELETE FROM asset_prices WHERE asset_id = 12");
  exec("DELETE FROM assets WHERE id = 12");
  CAF_CHECK_EQUAL(count("asset_events"), 0);
  CAF_CHECK_EQUAL(count("price_outliers"), 0);
}

CAF_TEST(the tables refuse what they must) {
  CAF_CHECK(throws([&] {
    exec("INSERT INTO asset_events (asset_id, date, kind)"
         " VALUES (12, '2024-01-02', 'bonus')");
  }));
  CAF_CHECK(throws([&] {
    exec("INSERT INTO price_outliers (asset_id, date)"
         " VALUES (12, '2024-01-02')");
  }));
}

CAF_TEST_FIXTURE_SCOPE_END()
