#include "db/operator_queries.hpp"

#include <algorithm>

#include <pqxx/pqxx>

#include "db/array_literal.hpp"
#include "db/sql_fragments.hpp"

namespace backfilld {

namespace {

// Revives the latest failed job per asset and kind, unless a live one exists
// (the unique index allows one live job only).
const char* retry_sql = R"sql(
WITH latest AS (
  SELECT DISTINCT ON (j.asset_id, j.kind) j.id
  FROM backfill_jobs j JOIN assets a ON a.id = j.asset_id
  WHERE j.state = 'failed'
    AND ($1 = '' OR upper(a.symbol) = upper($1) OR a.id::text = $1)
    AND NOT EXISTS (SELECT 1 FROM backfill_jobs l
                    WHERE l.asset_id = j.asset_id AND l.kind = j.kind
                      AND l.)sql" LIVE_STATES R"sql()
  ORDER BY j.asset_id, j.kind, j.id DESC
)
UPDATE backfill_jobs j
SET state = 'pending', attempts = 0, next_attempt_at = now(),
    finished_at = NULL, no_data_runs = 0, updated_at = now()
FROM latest WHERE j.id = latest.id
)sql";

// Makes one job per asset due now ($1 the assets, $2 the kind, $3 the day a
// backfill must reach back to when $4). A running job stays with its holder
// (its `updated_at` untouched: it proves the holder alive to other claims).
const char* queue_now_sql = R"sql(
WITH input AS (SELECT DISTINCT unnest($1::int[]) AS asset_id),
wanted AS (SELECT CASE WHEN $4::bool THEN DATE '1970-01-01' + $3::int END
                  AS day),
live AS (
  UPDATE backfill_jobs j
  SET next_attempt_at = least(j.next_attempt_at, now()),
      want_from = CASE WHEN w.day IS NULL THEN j.want_from
                       ELSE least(j.want_from, w.day) END,
      last_error = NULL,
      updated_at = CASE WHEN j.state = 'pending' THEN now()
                        ELSE j.updated_at END
  FROM input i, wanted w
  WHERE j.asset_id = i.asset_id AND j.kind = $2
    AND j.state IN ('pending', 'running')
  RETURNING j.id, j.asset_id, j.state
),
latest AS (
  SELECT DISTINCT ON (j.asset_id) j.asset_id, j.id
  FROM backfill_jobs j JOIN input i ON i.asset_id = j.asset_id
  WHERE j.kind = $2
    AND NOT EXISTS (SELECT 1 FROM live l WHERE l.asset_id = j.asset_id)
  ORDER BY j.asset_id, j.id DESC
),
revived AS (
  -- An extension keeps its target unless a new one is given.
  UPDATE backfill_jobs j
  SET state = 'pending', attempts = 0, next_attempt_at = now(),
      finished_at = NULL, locked_by = NULL, locked_until = NULL,
      last_error = NULL, permanent = false, no_data_runs = 0,
      want_from = CASE WHEN j.kind = 'extend' THEN coalesce(w.day, j.want_from)
                       ELSE w.day END,
      priority = CASE WHEN j.kind = 'refresh' THEN 1 ELSE 0 END,
      updated_at = now()
  FROM latest l, wanted w
  WHERE j.id = l.id AND j.state IN ('done', 'failed')
  RETURNING j.id, j.asset_id, j.state
),
inserted AS (
  -- Refreshes after every backfill and extension, as the scheduler's: an
  -- interrupted `refresh --all` must not leave thousands of them ahead of
  -- new assets.
  INSERT INTO backfill_jobs (asset_id, kind, want_from, priority)
  SELECT i.asset_id, $2, w.day, CASE WHEN $2 = 'refresh' THEN 1 ELSE 0 END
  FROM input i, wanted w
  WHERE NOT EXISTS (SELECT 1 FROM live l WHERE l.asset_id = i.asset_id)
    AND NOT EXISTS (SELECT 1 FROM latest l WHERE l.asset_id = i.asset_id)
  ON CONFLICT (asset_id, kind) WHERE )sql" LIVE_STATES R"sql( DO NOTHING
  RETURNING id, asset_id, state
)
SELECT id, asset_id, state FROM live
UNION ALL SELECT id, asset_id, state FROM revived
UNION ALL SELECT id, asset_id, state FROM inserted
)sql";

const char* job_progress_sql = R"sql(
SELECT id, asset_id, state, attempts, coalesce(last_error, ''),
       CASE WHEN state = 'pending' AND last_error IS NOT NULL
            THEN to_char(next_attempt_at AT TIME ZONE 'UTC',
                         'YYYY-MM-DD HH24:MI:SS "UTC"')
            ELSE '' END
FROM backfill_jobs WHERE id = ANY($1::bigint[]) ORDER BY id
)sql";

// The assets backfilld knows: with prices (one index probe per asset, not
// one row per price), a tracking row or a job; or only those in $1. Per
// asset, index lookups on asset_prices' and backfill_jobs' asset indexes;
// `transactions` is never read.
const char* status_sql = R"sql(
WITH RECURSIVE walk AS (
  (SELECT asset_id FROM asset_prices WHERE cardinality($1::int[]) = 0
   ORDER BY asset_id LIMIT 1)
  UNION ALL
  SELECT (SELECT p.asset_id FROM asset_prices p
          WHERE p.asset_id > walk.asset_id ORDER BY p.asset_id LIMIT 1)
  FROM walk WHERE walk.asset_id IS NOT NULL
),
ids AS (
  SELECT asset_id FROM walk WHERE asset_id IS NOT NULL
  UNION SELECT asset_id FROM tracked_assets WHERE cardinality($1::int[]) = 0
  UNION SELECT asset_id FROM backfill_jobs WHERE cardinality($1::int[]) = 0
  UNION SELECT unnest($1::int[])
)
SELECT a.id, coalesce(a.symbol, ''), p.rows,
       )sql" DAY_NUMBER("p.first") R"sql( AS first_day,
       )sql" DAY_NUMBER("p.last") R"sql( AS last_day,
       coalesce(to_char(t.last_price_update AT TIME ZONE 'UTC',
                        'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '') AS last_update,
       coalesce(t.tracking_users, -1), coalesce(n.source, ''),
       coalesce(j.kind, ''), coalesce(j.state, ''), coalesce(j.attempts, 0),
       coalesce(j.last_error, ''),
       lower(coalesce(a.asset_type, '')) NOT IN ('cash', 'custom')
FROM ids JOIN assets a ON a.id = ids.asset_id
LEFT JOIN tracked_assets t ON t.asset_id = a.id
LEFT JOIN LATERAL (
  SELECT count(*) AS rows, min(date) AS first, max(date) AS last
  FROM asset_prices WHERE asset_id = a.id
) p ON true
LEFT JOIN LATERAL (
  SELECT source FROM asset_prices WHERE asset_id = a.id
  ORDER BY date DESC LIMIT 1
) n ON true
-- The job that moved last: a revived row keeps its old id.
LEFT JOIN LATERAL (
  SELECT kind, state, attempts, last_error FROM backfill_jobs
  WHERE asset_id = a.id ORDER BY updated_at DESC, id DESC LIMIT 1
) j ON true
ORDER BY a.symbol, a.id
)sql";

const char* job_counts_sql = R"sql(
SELECT kind, state, count(*) FROM backfill_jobs
WHERE cardinality($1::int[]) = 0 OR asset_id = ANY($1::int[])
GROUP BY kind, state ORDER BY kind, state
)sql";

/// The statements of `read_status` see one snapshot.
using snapshot = pqxx::transaction<pqxx::isolation_level::repeatable_read,
                                   pqxx::readwrite_policy::read_only>;

/// Marks inactive assets and fills in their last error, from
/// `backfilld_asset_state` (the scheduled refresh's).
void read_asset_state(snapshot& txn, const std::string& only,
                      std::map<asset_id, asset_status*>& by_id) {
  auto rows = txn.exec_params(
    "SELECT asset_id,"
    " coalesce(to_char(inactive_since AT TIME ZONE 'UTC', 'YYYY-MM-DD'), ''),"
    " coalesce(inactive_reason, ''), coalesce(last_error, '')"
    " FROM backfilld_asset_state"
    " WHERE (inactive_since IS NOT NULL OR last_error IS NOT NULL)"
    " AND (cardinality($1::int[]) = 0 OR asset_id = ANY($1::int[]))",
    only);
  for (const auto& row : rows) {
    auto i = by_id.find(row[0].as<asset_id>());
    if (i == by_id.end())
      continue;
    i->second->inactive_since = row[1].as<std::string>();
    i->second->inactive_reason = row[2].as<std::string>();
    if (i->second->last_error.empty())
      i->second->last_error = row[3].as<std::string>();
  }
}

/// Counts the bars held back as outliers, from `price_outliers`.
void read_outliers(snapshot& txn, const std::string& only,
                   std::map<asset_id, asset_status*>& by_id) {
  auto rows = txn.exec_params(
    "SELECT asset_id, count(*) FROM price_outliers"
    " WHERE cardinality($1::int[]) = 0 OR asset_id = ANY($1::int[])"
    " GROUP BY asset_id",
    only);
  for (const auto& row : rows) {
    auto i = by_id.find(row[0].as<asset_id>());
    if (i != by_id.end())
      i->second->held_back = row[1].as<int64_t>();
  }
}

day_number day_or_none(const pqxx::field& f) {
  return f.is_null() ? no_day : f.as<day_number>();
}

std::vector<asset_ref> read_refs(const pqxx::result& rows) {
  std::vector<asset_ref> result;
  result.reserve(rows.size());
  for (const auto& row : rows)
    result.push_back(
      asset_ref{row[0].as<asset_id>(), row[1].as<std::string>()});
  return result;
}

} // namespace

std::vector<asset_ref> assets_by_symbol(pqxx::connection_base& conn,
                                        const std::string& symbol) {
  pqxx::read_transaction txn{conn};
  return read_refs(txn.exec_params("SELECT id, symbol FROM assets"
                                   " WHERE upper(symbol) = upper($1)"
                                   " ORDER BY id",
                                   symbol));
}

std::vector<asset_ref> asset_by_id(pqxx::connection_base& conn, asset_id id) {
  pqxx::read_transaction txn{conn};
  return read_refs(txn.exec_params(
    "SELECT id, coalesce(symbol, '') FROM assets WHERE id = $1", id));
}

std::vector<asset_ref> tracked_assets(pqxx::connection_base& conn) {
  pqxx::read_transaction txn{conn};
  return read_refs(
    txn.exec("SELECT a.id, coalesce(a.symbol, '') FROM tracked_assets t"
             " JOIN assets a ON a.id = t.asset_id"
             " WHERE t.tracking_users > 0 ORDER BY a.symbol, a.id"));
}

std::vector<asset_ref> refreshable_assets(pqxx::connection_base& conn) {
  pqxx::read_transaction txn{conn};
  return read_refs(txn.exec(R"sql(
SELECT a.id, coalesce(a.symbol, '') FROM tracked_assets t
JOIN assets a ON a.id = t.asset_id
LEFT JOIN backfilld_asset_state s ON s.asset_id = t.asset_id
WHERE t.tracking_users > 0 AND s.inactive_since IS NULL
  AND lower(coalesce(a.asset_type, '')) NOT IN ('cash', 'custom')
  AND EXISTS (SELECT 1 FROM asset_prices p WHERE p.asset_id = t.asset_id)
ORDER BY a.symbol, a.id
)sql"));
}

std::vector<queued_job> queue_now(pqxx::connection_base& conn,
                                  const std::vector<asset_id>& assets,
                                  job_kind kind, day_number want_from) {
  std::vector<queued_job> result;
  std::vector<asset_id> missing = assets;
  // A daemon may add a live job between our read and our insert (which then
  // adds nothing) or revive the row we revive (a unique violation): the
  // next round reuses its job.
  for (int round = 0; round < 3 && !missing.empty(); ++round) {
    try {
      pqxx::work txn{conn};
      auto rows = txn.exec_params(
        queue_now_sql, array_literal(missing), to_string(kind),
        want_from == no_day ? 0 : want_from, want_from != no_day);
      txn.commit();
      for (const auto& row : rows) {
        auto asset = row[1].as<asset_id>();
        result.push_back(
          queued_job{row[0].as<job_id>(), asset, row[2].as<std::string>()});
        missing.erase(std::remove(missing.begin(), missing.end(), asset),
                      missing.end());
      }
    } catch (const pqxx::unique_violation&) {
      if (round == 2)
        throw;
    }
  }
  return result;
}

std::vector<job_progress> job_progresses(pqxx::connection_base& conn,
                                         const std::vector<job_id>& jobs) {
  pqxx::read_transaction txn{conn};
  auto rows = txn.exec_params(job_progress_sql, array_literal(jobs));
  std::vector<job_progress> result;
  result.reserve(rows.size());
  for (const auto& row : rows)
    result.push_back(
      job_progress{row[0].as<job_id>(), row[1].as<asset_id>(),
                   row[2].as<std::string>(), row[3].as<int32_t>(),
                   row[4].as<std::string>(), row[5].as<std::string>()});
  return result;
}

status_report read_status(pqxx::connection_base& conn,
                          const std::vector<asset_id>& only) {
  status_report report;
  snapshot txn{conn};
  auto ids = array_literal(only);
  for (const auto& row : txn.exec_params(status_sql, ids)) {
    asset_status a;
    a.asset = row[0].as<asset_id>();
    a.symbol = row[1].as<std::string>();
    a.rows = row[2].as<int64_t>();
    a.first_day = day_or_none(row[3]);
    a.last_day = day_or_none(row[4]);
    a.last_update = row[5].as<std::string>();
    a.tracking_users = row[6].as<int32_t>();
    a.source = row[7].as<std::string>();
    a.job_kind = row[8].as<std::string>();
    a.job_state = row[9].as<std::string>();
    a.job_attempts = row[10].as<int32_t>();
    a.last_error = row[11].as<std::string>();
    a.market_price = row[12].as<bool>();
    report.assets.push_back(std::move(a));
  }
  std::map<asset_id, asset_status*> by_id;
  for (auto& a : report.assets)
    by_id.emplace(a.asset, &a);
  read_asset_state(txn, ids, by_id);
  read_outliers(txn, ids, by_id);
  for (const auto& row : txn.exec_params(job_counts_sql, ids))
    report.jobs.push_back(job_state_count{row[0].as<std::string>(),
                                          row[1].as<std::string>(),
                                          row[2].as<int64_t>()});
  return report;
}

int32_t retry_failed(pqxx::connection_base& conn, const std::string& symbol) {
  pqxx::work txn{conn};
  auto rows = txn.exec_params(retry_sql, symbol);
  txn.commit();
  return static_cast<int32_t>(rows.affected_rows());
}

std::vector<job_state_count> count_jobs(pqxx::connection_base& conn) {
  pqxx::read_transaction txn{conn};
  auto rows = txn.exec("SELECT kind, state, count(*) FROM backfill_jobs "
                       "GROUP BY kind, state ORDER BY kind, state");
  std::vector<job_state_count> result;
  for (const auto& row : rows)
    result.push_back(job_state_count{row[0].as<std::string>(),
                                     row[1].as<std::string>(),
                                     row[2].as<int64_t>()});
  return result;
}

std::vector<failed_job> list_failed_jobs(pqxx::connection_base& conn,
                                         int limit) {
  pqxx::read_transaction txn{conn};
  auto rows = txn.exec_params(
    "SELECT j.asset_id, a.symbol, j.kind, j.attempts,"
    " coalesce(j.last_error, ''), coalesce(j.finished_at::text, '')"
    " FROM backfill_jobs j JOIN assets a ON a.id = j.asset_id"
    " WHERE j.state = 'failed' ORDER BY j.finished_at DESC NULLS LAST"
    " LIMIT $1",
    limit);
  std::vector<failed_job> result;
  for (const auto& row : rows)
    result.push_back(failed_job{row[0].as<asset_id>(), row[1].as<std::string>(),
                                row[2].as<std::string>(), row[3].as<int32_t>(),
                                row[4].as<std::string>(),
                                row[5].as<std::string>()});
  return result;
}

} // namespace backfilld
