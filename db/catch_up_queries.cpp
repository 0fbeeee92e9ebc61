#include "db/catch_up_queries.hpp"

#include <pqxx/pqxx>

namespace backfilld {

namespace {

/// The mark and the assets are read in one snapshot, so that nothing
/// committed between the two reads is skipped.
using snapshot = pqxx::transaction<pqxx::isolation_level::repeatable_read,
                                   pqxx::readwrite_policy::read_only>;

// Deleted and updated rows of `transactions` so far: a cheap counter the
// server keeps anyway (it may lag by a few seconds).
#define REWRITES                                                               \
  "(SELECT coalesce(n_tup_del + n_tup_upd, 0) FROM pg_stat_user_tables"        \
  " WHERE relid = 'transactions'::regclass)"

// The newest id, how many rows the overlap below it holds now, and how
// many rows were deleted or updated so far.
const char* mark_sql = R"sql(
WITH newest AS (SELECT coalesce(max(id), 0) AS id FROM transactions)
SELECT newest.id,
       (SELECT count(*) FROM transactions t
        WHERE t.id > newest.id - $1::bigint AND t.id <= newest.id),
       )sql" REWRITES R"sql(
FROM newest
)sql";

const char* rewrites_sql = "SELECT " REWRITES;

// One index probe per asset instead of one row per transaction.
const char* all_assets_sql = R"sql(
WITH RECURSIVE walk AS (
  (SELECT asset_id FROM transactions ORDER BY asset_id LIMIT 1)
  UNION ALL
  SELECT (SELECT t.asset_id FROM transactions t
          WHERE t.asset_id > walk.asset_id
          ORDER BY t.asset_id LIMIT 1)
  FROM walk WHERE walk.asset_id IS NOT NULL
)
SELECT asset_id FROM walk WHERE asset_id IS NOT NULL
UNION
-- A tracked asset whose transactions are all gone: its count must drop.
SELECT asset_id FROM tracked_assets WHERE tracking_users > 0
ORDER BY 1
)sql";

// $1 the mark, $2 the overlap, $3 the rows the overlap held at the mark.
const char* changed_sql = R"sql(
WITH late AS (
  SELECT count(*) <> $3::bigint AS arrived FROM transactions
  WHERE id > $1::bigint - $2::bigint AND id <= $1::bigint
)
SELECT DISTINCT asset_id FROM transactions
WHERE id > $1::bigint
   OR (id > $1::bigint - $2::bigint AND (SELECT arrived FROM late))
UNION
-- The newest job of its kind failed for want of attempts, long enough ago
-- for a revival (an outage has likely passed). The scheduler's next run
-- revives a failed refresh.
SELECT j.asset_id FROM backfill_jobs j
WHERE j.state = 'failed' AND NOT j.permanent AND j.kind <> 'refresh'
  AND j.finished_at <= now() - $4::float8 * interval '1 millisecond'
  AND NOT EXISTS (SELECT 1 FROM backfill_jobs n
                  WHERE n.asset_id = j.asset_id AND n.kind = j.kind
                    AND n.id > j.id)
ORDER BY 1
)sql";

catch_up_candidates read(snapshot& txn, const pqxx::result& rows) {
  catch_up_candidates result;
  result.assets.reserve(rows.size());
  for (const auto& row : rows)
    result.assets.push_back(row[0].as<asset_id>());
  auto mark = txn.exec_params1(mark_sql, catch_up_overlap);
  result.mark = scan_mark{mark[0].as<int64_t>(), mark[1].as<int64_t>(),
                          mark[2].as<int64_t>()};
  return result;
}

} // namespace

catch_up_candidates all_assets_with_transactions(pqxx::connection_base& conn) {
  snapshot txn{conn};
  auto rows = txn.exec(all_assets_sql);
  return read(txn, rows);
}

catch_up_candidates
assets_changed_since(pqxx::connection_base& conn, const scan_mark& mark,
                     std::chrono::milliseconds revive_after) {
  snapshot txn{conn};
  auto rows =
    txn.exec_params(changed_sql, mark.transaction, catch_up_overlap,
                    mark.rows_below, static_cast<double>(revive_after.count()));
  return read(txn, rows);
}

namespace {

int64_t rewrites_now(pqxx::connection_base& conn) {
  pqxx::nontransaction txn{conn};
  return txn.exec1(rewrites_sql)[0].as<int64_t>();
}

} // namespace

bool rewritten_since(pqxx::connection_base& conn, const scan_mark& mark) {
  return rewrites_now(conn) != mark.rewrites;
}

catch_up_candidates catch_up_scan(pqxx::connection_base& conn,
                                  const scan_mark& mark,
                                  std::chrono::milliseconds revive_after) {
  auto rewrites = rewrites_now(conn);
  auto full = mark.transaction < 0 || rewrites != mark.rewrites;
  auto found = full ? all_assets_with_transactions(conn)
                    : assets_changed_since(conn, mark, revive_after);
  found.mark.rewrites = rewrites;
  found.full = full;
  return found;
}

} // namespace backfilld
