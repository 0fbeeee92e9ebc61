#define CAF_SUITE price_queries
#include <caf/test/unit_test.hpp>

#include "db/price_queries.hpp"
#include "db/tracking_queries.hpp"
#include "db_fixture.hpp"

using namespace backfilld;
using namespace backfilld::test;

namespace {

struct fixture : db_fixture {
  fixture() {
    exec(R"sql(
      INSERT INTO assets (id, symbol, asset_type) VALUES
        (12, 'AMD', 'stock'), (14, 'EUR', 'cash'), (16, 'VOD.L', 'stock');
    )sql");
  }

  price_series series(int n, double base = 100) {
    price_series s;
    s.source = "yahoo";
    s.currency = "USD";
    for (int i = 0; i < n; ++i)
      s.bars.push_back(price_bar{19'000 + i, base + i, base + i + 2,
                                 base + i - 1, base + i + 0.25,
                                 base + i + 0.125, 1000 + i});
    return s;
  }

  void transaction(asset_id asset, int portfolio) {
    exec("INSERT INTO transactions (portfolio_id, asset_id, quantity, price,"
         " timestamp) VALUES (" +
         std::to_string(portfolio) + ", " + std::to_string(asset) +
         ", 1, 1, now())");
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(price_queries_tests, fixture)

CAF_TEST(a series is stored whole) {
  auto summary = write_series(*conn, 12, series(251));
  CAF_CHECK_EQUAL(summary.bars, 251);
  CAF_CHECK_EQUAL(summary.changed, 251);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"
                              " WHERE asset_id = 12"),
                  251);
  CAF_CHECK_EQUAL(
    scalar<std::string>("SELECT close::text FROM asset_prices"
                        " WHERE date = DATE '1970-01-01' + 19000"),
    "100.25");
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT source || ' ' || currency"
                                      " FROM asset_prices LIMIT 1"),
                  "yahoo USD");
}

// Group commit needs it: the per-write temporary table this replaced could
// not be created twice in one transaction.
CAF_TEST(several assets are stored in one transaction) {
  pqxx::work txn{*conn};
  auto amd = write_series(txn, 12, series(30));
  auto vod = write_series(txn, 16, series(20, 200));
  txn.commit();
  CAF_CHECK_EQUAL(amd.changed, 30);
  CAF_CHECK_EQUAL(vod.changed, 20);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"
                              " WHERE asset_id = 16 AND close >= 200"),
                  20);
}

CAF_TEST(a replayed series changes nothing and a corrected one converges) {
  write_series(*conn, 12, series(10));
  CAF_CHECK_EQUAL(write_series(*conn, 12, series(10)).changed, 0);
  auto corrected = series(10);
  corrected.bars[3].close = 555.5;
  CAF_CHECK_EQUAL(write_series(*conn, 12, corrected).changed, 1);
  CAF_CHECK_EQUAL(
    scalar<std::string>("SELECT close::text FROM asset_prices"
                        " WHERE date = DATE '1970-01-01' + 19003"),
    "555.5");
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"), 10);
}

CAF_TEST(a first backfill that races another writer of its days stores all) {
  // Another session (the tracker itself, say) stores a day of the span and
  // commits only once our INSERT waits for it: the INSERT fails on the
  // primary key, and the upsert after it stores every day all the same.
  write_summary ours;
  race_with_uncommitted("INSERT INTO asset_prices (asset_id, date, close)"
                        " VALUES (12, DATE '1970-01-01' + 19005, 1)",
                        [&] { ours = write_series(*conn, 12, series(10)); });
  CAF_CHECK_EQUAL(ours.bars, 10);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"), 10);
  CAF_CHECK_EQUAL(
    scalar<std::string>("SELECT close::text FROM asset_prices"
                        " WHERE date = DATE '1970-01-01' + 19005"),
    "105.25");
}

CAF_TEST(only a lost race is undone and stored again with the upsert) {
  std::vector<write_path> tried;
  auto undone = 0;
  auto store = [&](write_path path) {
    tried.push_back(path);
    if (path == write_path::insert_when_new && tried.size() == 1)
      throw pqxx::unique_violation{"duplicate key value"};
    write_summary summary;
    summary.bars = static_cast<int32_t>(tried.size());
    return summary;
  };
  auto undo = [&] {
    ++undone;
  };
  auto summary = insert_or_upsert(store, undo);
  CAF_CHECK_EQUAL(summary.bars, 2);
  CAF_REQUIRE_EQUAL(tried.size(), 2u);
  CAF_CHECK(tried[0] == write_path::insert_when_new);
  CAF_CHECK(tried[1] == write_path::upsert);
  CAF_CHECK_EQUAL(undone, 1);
  // A won insert is not repeated, and any other failure reaches the caller
  // without a second try.
  tried.clear();
  CAF_CHECK_EQUAL(insert_or_upsert([&](write_path path) {
                    tried.push_back(path);
                    return write_summary{};
                  }).bars,
                  0);
  CAF_CHECK_EQUAL(tried.size(), 1u);
  tried.clear();
  auto failed = false;
  try {
    insert_or_upsert(
      [&](write_path path) -> write_summary {
        tried.push_back(path);
        throw pqxx::check_violation{"price_positive"};
      },
      undo);
  } catch (const pqxx::check_violation&) {
    failed = true;
  }
  CAF_CHECK(failed);
  CAF_CHECK_EQUAL(tried.size(), 1u);
  CAF_CHECK_EQUAL(undone, 1);
}

CAF_TEST(absent values are stored as NULL and pence stay pence) {
  auto s = series(2, 70);
  s.currency = "GBp";
  s.bars[0].adj_close = -1;
  s.bars[0].volume = -1;
  write_series(*conn, 16, s);
  CAF_CHECK(scalar<bool>("SELECT adj_close IS NULL AND volume IS NULL"
                         " FROM asset_prices WHERE date = DATE '1970-01-01'"
                         " + 19000"));
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT currency || ' ' || close::text"
                                      " FROM asset_prices WHERE date ="
                                      " DATE '1970-01-01' + 19000"),
                  "GBp 70.25");
}

CAF_TEST(a failing write leaves nothing behind) {
  // Asset 77 does not exist: the foreign key fails the whole transaction.
  bool threw = false;
  try {
    write_series(*conn, 77, series(5));
  } catch (const pqxx::sql_error&) {
    threw = true;
  }
  CAF_CHECK(threw);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"), 0);
  // The connection is usable again (the staging table went with the
  // rolled-back transaction).
  CAF_CHECK_EQUAL(write_series(*conn, 12, series(5)).bars, 5);
}

CAF_TEST(numbers keep their shortest exact form) {
  CAF_CHECK_EQUAL(numeric_text(150.25), "150.25");
  CAF_CHECK_EQUAL(numeric_text(169.1199951171875), "169.1199951171875");
  CAF_CHECK_EQUAL(numeric_text(0.1), "0.1");
  CAF_CHECK_EQUAL(numeric_text(1e-7), "1e-07");
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT '1e-07'::numeric::text"),
                  "0.0000001");
}

CAF_TEST(tracking counts distinct portfolios and skips what has no prices) {
  transaction(12, 1);
  transaction(12, 1);
  transaction(14, 1);
  // No prices yet: no row (a failed backfill gets none either).
  CAF_CHECK_EQUAL(refresh_tracking(*conn, {12}, {12}), 0);
  write_series(*conn, 12, series(3));
  CAF_CHECK_EQUAL(refresh_tracking(*conn, {12, 14}, {12}), 1);
  CAF_CHECK_EQUAL(scalar<int>("SELECT tracking_users FROM tracked_assets"
                              " WHERE asset_id = 12"),
                  1);
  CAF_CHECK(scalar<bool>("SELECT last_price_update IS NOT NULL"
                         " FROM tracked_assets WHERE asset_id = 12"));
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM tracked_assets"
                              " WHERE asset_id = 14"),
                  0);
  transaction(12, 2);
  CAF_CHECK_EQUAL(refresh_tracking(*conn, {12}, {}), 1);
  CAF_CHECK_EQUAL(scalar<int>("SELECT tracking_users FROM tracked_assets"
                              " WHERE asset_id = 12"),
                  2);
  // Replaying changes nothing: counts are recomputed, never incremented.
  CAF_CHECK_EQUAL(refresh_tracking(*conn, {12}, {}), 0);
  CAF_CHECK_EQUAL(scalar<int>("SELECT tracking_users FROM tracked_assets"
                              " WHERE asset_id = 12"),
                  2);
}

CAF_TEST(a later answer without some values keeps the stored ones) {
  write_series(*conn, 12, series(3));
  auto sparse = series(3);
  sparse.currency = "";
  for (auto& bar : sparse.bars) {
    bar.adj_close = -1;
    bar.volume = -1;
  }
  sparse.bars[1].close = 200;
  // Only the changed close counts as a change.
  CAF_CHECK_EQUAL(write_series(*conn, 12, sparse).changed, 1);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"
                              " WHERE adj_close IS NULL OR volume IS NULL"
                              " OR currency IS NULL"),
                  0);
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT adj_close::text || ' '"
                                      " || close::text FROM asset_prices"
                                      " WHERE date = DATE '1970-01-01'"
                                      " + 19001"),
                  "101.125 200");
}

CAF_TEST(an extension stores only the days before the stored history) {
  write_series(*conn, 12, series(5));
  backfill_job job;
  job.kind = job_kind::extend;
  job.first_price = 19'000;
  // The answer overlaps the stored days and is adjusted on another basis.
  auto older = series(5, 50);
  for (auto& bar : older.bars)
    bar.day -= 3;
  auto summary = write_series(*conn, 12, bars_to_store(job, older));
  CAF_CHECK_EQUAL(summary.bars, 3);
  CAF_CHECK_EQUAL(summary.changed, 3);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"
                              " WHERE asset_id = 12"),
                  8);
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT close::text FROM asset_prices"
                                      " WHERE date = DATE '1970-01-01'"
                                      " + 19000"),
                  "100.25");
  // A backfill's answer is stored whole.
  job.kind = job_kind::backfill;
  CAF_CHECK_EQUAL(bars_to_store(job, older).bars.size(), 5u);
}

CAF_TEST(an extension that agrees with the stored days adds the older ones) {
  write_series(*conn, 12, series(5));
  // Days 18997 to 19004: three older days, then the five stored ones on the
  // same basis, give or take Yahoo's rounding (within the tolerance).
  auto answer = series(8, 97);
  for (auto& bar : answer.bars) {
    bar.day -= 3;
    if (bar.day >= 19'000) {
      bar.open += 7;
      bar.close *= 1.004;
      bar.adj_close *= 0.996;
    }
  }
  auto summary = write_extension(*conn, 12, answer);
  CAF_CHECK(!summary.basis_changed());
  CAF_CHECK_EQUAL(summary.bars, 3);
  CAF_CHECK_EQUAL(summary.changed, 3);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"
                              " WHERE asset_id = 12"),
                  8);
  // The stored days keep what they had.
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT open::text || ' '"
                                      " || close::text FROM asset_prices"
                                      " WHERE date = DATE '1970-01-01'"
                                      " + 19000"),
                  "100 100.25");
  // Replayed, it changes nothing.
  CAF_CHECK_EQUAL(write_extension(*conn, 12, answer).changed, 0);
}

CAF_TEST(an extension on another basis writes nothing and says why) {
  write_series(*conn, 12, series(5));
  // After a 2:1 split every price the provider serves is halved.
  auto answer = series(8, 97);
  for (auto& bar : answer.bars) {
    bar.day -= 3;
    bar.open /= 2;
    bar.high /= 2;
    bar.low /= 2;
    bar.close /= 2;
    bar.adj_close /= 2;
  }
  auto summary = write_extension(*conn, 12, answer);
  CAF_CHECK(summary.basis_changed());
  CAF_CHECK_EQUAL(summary.disagreement,
                  "close of 2022-01-08: stored 100.25, served 50.125");
  CAF_CHECK_EQUAL(summary.bars, 0);
  CAF_CHECK_EQUAL(summary.changed, 0);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"
                              " WHERE asset_id = 12"),
                  5);
  // The connection is fine for the rewrite that follows: stored whole, the
  // history is on the new basis, without duplicates.
  CAF_CHECK_EQUAL(write_series(*conn, 12, answer).changed, 8);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM asset_prices"
                              " WHERE asset_id = 12"),
                  8);
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT close::text FROM asset_prices"
                                      " WHERE date = DATE '1970-01-01'"
                                      " + 19004"),
                  "52.125");
  CAF_CHECK(!write_extension(*conn, 12, answer).basis_changed());
}

CAF_TEST(a dividend adjustment counts where both sides have one) {
  std::vector<stored_close> stored{{19'000, 100, 98}, {19'001, 101, -1}};
  std::vector<price_bar> served{{19'000, 1, 1, 1, 100.2, 98.3, 1},
                                {19'001, 1, 1, 1, 101, 90, 1}};
  // Within the tolerance, and no stored adjusted close on the second day.
  CAF_CHECK_EQUAL(basis_disagreement(served, stored), "");
  // Adjusted for dividends paid since it was stored.
  served[0].adj_close = 96;
  CAF_CHECK_EQUAL(basis_disagreement(served, stored),
                  "adjusted close of 2022-01-08: stored 98, served 96");
  // A day that is not stored cannot disagree.
  served[0].day = 18'999;
  CAF_CHECK_EQUAL(basis_disagreement(served, stored), "");
}

CAF_TEST(tracking counts down to zero when the transactions are gone) {
  transaction(12, 1);
  transaction(12, 2);
  write_series(*conn, 12, series(3));
  CAF_CHECK_EQUAL(refresh_tracking(*conn, {12}, {12}), 1);
  exec("DELETE FROM transactions WHERE asset_id = 12");
  CAF_CHECK_EQUAL(refresh_tracking(*conn, {12}, {}), 1);
  CAF_CHECK_EQUAL(scalar<int>("SELECT tracking_users FROM tracked_assets"
                              " WHERE asset_id = 12"),
                  0);
  CAF_CHECK(scalar<bool>("SELECT last_price_update IS NOT NULL"
                         " FROM tracked_assets WHERE asset_id = 12"));
  CAF_CHECK_EQUAL(refresh_tracking(*conn, {12}, {}), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
