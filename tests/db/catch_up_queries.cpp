#define CAF_SUITE catch_up_queries
#include <caf/test/unit_test.hpp>

#include <algorithm>

#include "db/catch_up_queries.hpp"
#include "db_fixture.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

namespace {

using assets = std::vector<asset_id>;

struct fixture : db_fixture {
  fixture() {
    exec("INSERT INTO assets (id, symbol, asset_type) SELECT g, 'S' || g,"
         " 'stock' FROM generate_series(1, 30) g");
  }

  /// Adds `n` transactions of `asset`.
  void buy(asset_id asset, int n = 1) {
    exec("INSERT INTO transactions (portfolio_id, asset_id, quantity, price,"
         " timestamp) SELECT 1, " +
         std::to_string(asset) + ", 1, 1, now() FROM generate_series(1, " +
         std::to_string(n) + ")");
  }

  int64_t newest() {
    return scalar<int64_t>("SELECT coalesce(max(id), 0) FROM transactions");
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(catch_up_query_tests, fixture)

CAF_TEST(a full scan finds every asset with transactions once) {
  CAF_CHECK(all_assets_with_transactions(*conn).assets.empty());
  CAF_CHECK_EQUAL(all_assets_with_transactions(*conn).mark.transaction, 0);
  buy(3, 5);
  buy(1, 2);
  buy(17);
  auto found = all_assets_with_transactions(*conn);
  CAF_CHECK_EQUAL(found.assets, assets({1, 3, 17}));
  CAF_CHECK_EQUAL(found.mark.transaction, newest());
  CAF_CHECK_EQUAL(found.mark.rows_below, 8);
}

CAF_TEST(an incremental scan reads only what came after the mark) {
  buy(1, 5);
  buy(3, 20);
  auto mark = all_assets_with_transactions(*conn).mark;
  CAF_CHECK(assets_changed_since(*conn, mark, 6h).assets.empty());
  buy(2);
  buy(5);
  auto changed = assets_changed_since(*conn, mark, 6h);
  CAF_CHECK_EQUAL(changed.assets, assets({2, 5}));
  CAF_CHECK_EQUAL(changed.mark.transaction, newest());
}

CAF_TEST(the overlap is looked at again only when rows arrived there late) {
  buy(1, 10);
  buy(2);
  // An id taken by a transaction that has not committed yet: a hole.
  auto late = std::to_string(newest() - 3);
  exec("DELETE FROM transactions WHERE id = " + late);
  auto mark = all_assets_with_transactions(*conn).mark;
  // Nothing new, nothing late: nothing to look at.
  CAF_CHECK(assets_changed_since(*conn, mark, 6h).assets.empty());
  // The transaction commits after the scan, below its mark.
  exec("INSERT INTO transactions (id, portfolio_id, asset_id, quantity,"
       " price, timestamp) VALUES (" +
       late + ", 1, 9, 1, 1, now())");
  auto changed = assets_changed_since(*conn, mark, 6h);
  CAF_CHECK_EQUAL(std::count(changed.assets.begin(), changed.assets.end(), 9),
                  1);
}

CAF_TEST(failed jobs whose revival is due come along) {
  buy(4);
  exec("INSERT INTO backfill_jobs (asset_id, kind, state, permanent,"
       " finished_at) VALUES"
       " (20, 'backfill', 'failed', false, now() - interval '7 hours'),"
       " (21, 'backfill', 'failed', true, now() - interval '7 hours'),"
       " (22, 'backfill', 'failed', false, now() - interval '1 hour')");
  auto later = all_assets_with_transactions(*conn).mark;
  auto changed = assets_changed_since(*conn, later, 6h);
  // Not permanent and long enough ago; the others wait.
  CAF_CHECK_EQUAL(changed.assets, assets({20}));
}

CAF_TEST(deleted transactions call for a full scan) {
  buy(1, 3);
  buy(2);
  auto mark = all_assets_with_transactions(*conn).mark;
  CAF_CHECK(!rewritten_since(*conn, mark));
  exec("DELETE FROM transactions WHERE asset_id = 2");
  // The server's statistics reach other sessions once flushed.
  exec("SELECT pg_stat_force_next_flush()");
  auto fresh = connect();
  CAF_CHECK(rewritten_since(*fresh, mark));
  CAF_CHECK(
    !rewritten_since(*fresh, all_assets_with_transactions(*fresh).mark));
}

CAF_TEST(a catch-up turns full when transactions were deleted and then not) {
  buy(1, 3);
  buy(2);
  auto first = catch_up_scan(*conn, scan_mark{-1, 0, 0}, 1h);
  CAF_CHECK(first.full);
  auto quiet = catch_up_scan(*conn, first.mark, 1h);
  CAF_CHECK(!quiet.full);
  exec("DELETE FROM transactions WHERE asset_id = 2");
  exec("SELECT pg_stat_force_next_flush()");
  auto fresh = connect();
  auto after = catch_up_scan(*fresh, quiet.mark, 1h);
  CAF_CHECK(after.full);
  // The deletion is counted once: the scan after is incremental again.
  CAF_CHECK(!catch_up_scan(*fresh, after.mark, 1h).full);
}

CAF_TEST_FIXTURE_SCOPE_END()
