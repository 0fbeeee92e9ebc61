#include "db/operator_queries.hpp"

#include <pqxx/pqxx>

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

} // namespace

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
