#include "db/provider_state_queries.hpp"

#include <algorithm>

#include <pqxx/pqxx>

namespace backfilld {

namespace {

// Unix seconds in, timestamptz out; 0 stands for "none".
const char* upsert_sql = R"sql(
INSERT INTO backfilld_provider_state
  (provider, breaker, open_until, throttled_until, requests, errors,
   window_start, note, period_ms, daemon, updated_at)
VALUES ($1, $2,
        CASE WHEN $3::bigint > 0 THEN to_timestamp($3::bigint) END,
        CASE WHEN $4::bigint > 0 THEN to_timestamp($4::bigint) END,
        $5, $6, to_timestamp($7::bigint), nullif($8, ''), $9, $10, now())
ON CONFLICT (provider) DO UPDATE SET
  breaker = EXCLUDED.breaker, open_until = EXCLUDED.open_until,
  throttled_until = EXCLUDED.throttled_until, requests = EXCLUDED.requests,
  errors = EXCLUDED.errors, window_start = EXCLUDED.window_start,
  note = EXCLUDED.note, period_ms = EXCLUDED.period_ms,
  daemon = EXCLUDED.daemon, updated_at = EXCLUDED.updated_at
)sql";

const char* read_sql = R"sql(
SELECT provider, breaker,
       coalesce(extract(epoch FROM open_until)::bigint, 0) AS open_until,
       coalesce(extract(epoch FROM throttled_until)::bigint, 0)
         AS throttled_until,
       requests, errors,
       coalesce(extract(epoch FROM window_start)::bigint, 0) AS window_start,
       coalesce(note, '') AS note, period_ms, daemon,
       extract(epoch FROM updated_at)::bigint AS updated_at,
       extract(epoch FROM now() - updated_at)::float8 AS age
FROM backfilld_provider_state
ORDER BY provider
)sql";

} // namespace

void write_provider_states(pqxx::connection_base& conn,
                           const std::vector<provider_state>& states,
                           const std::string& daemon,
                           std::chrono::milliseconds period) {
  pqxx::work txn{conn};
  // A snapshot is worth less than anything the tracker runs.
  txn.exec("SET LOCAL statement_timeout = 5000");
  for (const auto& s : states)
    txn.exec_params(upsert_sql, s.provider, s.breaker, s.open_until,
                    s.throttled_until, s.requests, s.errors, s.window_start,
                    s.note, static_cast<int64_t>(period.count()), daemon);
  txn.commit();
}

std::vector<provider_status> read_provider_states(pqxx::connection_base& conn) {
  pqxx::read_transaction txn{conn};
  std::vector<provider_status> result;
  for (const auto& row : txn.exec(read_sql)) {
    provider_status p;
    p.state.provider = row["provider"].as<std::string>();
    p.state.breaker = row["breaker"].as<std::string>();
    p.state.open_until = row["open_until"].as<int64_t>();
    p.state.throttled_until = row["throttled_until"].as<int64_t>();
    p.state.requests = row["requests"].as<int64_t>();
    p.state.errors = row["errors"].as<int64_t>();
    p.state.window_start = row["window_start"].as<int64_t>();
    p.state.note = row["note"].as<std::string>();
    p.period_ms = row["period_ms"].as<int64_t>();
    p.daemon = row["daemon"].as<std::string>();
    p.updated_at = row["updated_at"].as<int64_t>();
    p.age_seconds = row["age"].as<double>();
    result.push_back(std::move(p));
  }
  return result;
}

} // namespace backfilld
