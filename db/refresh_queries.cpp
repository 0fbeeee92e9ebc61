#include "db/refresh_queries.hpp"

#include <ctime>
#include <string_view>

#include <pqxx/pqxx>

#include "db/prepared.hpp"
#include "db/sql_fragments.hpp"
#include "messages/ec.hpp"
#include "policy/schedule.hpp"
#include "provider/trading_day.hpp"

namespace backfilld {

namespace {

const char* zones_sql = R"sql(
SELECT DISTINCT s.exchange_timezone
FROM backfilld_asset_state s
JOIN tracked_assets t ON t.asset_id = s.asset_id
WHERE s.inactive_since IS NULL AND s.exchange_timezone IS NOT NULL
  AND t.tracking_users > 0
)sql";

// $1 after, $2 zone ('' = all), $3 fresher_than (ms), $4 batch.
const char* enqueue_sql = R"sql(
WITH candidates AS (
  SELECT t.asset_id
  FROM tracked_assets t
  JOIN assets a ON a.id = t.asset_id
  LEFT JOIN backfilld_asset_state s ON s.asset_id = t.asset_id
  WHERE t.asset_id > $1 AND t.tracking_users > 0
    AND lower(coalesce(a.asset_type, '')) NOT IN ('cash', 'custom')
    AND s.inactive_since IS NULL
    AND ($2 = '' OR s.exchange_timezone = $2)
    AND (s.last_refresh_at IS NULL
         OR s.last_refresh_at < now() - $3::float8 * interval '1 millisecond')
    AND EXISTS (SELECT 1 FROM asset_prices p WHERE p.asset_id = t.asset_id)
    -- A live backfill or extension stores what a refresh would.
    AND NOT EXISTS (SELECT 1 FROM backfill_jobs l
                    WHERE l.asset_id = t.asset_id AND l.)sql" LIVE_STATES
                          R"sql()
  ORDER BY t.asset_id
  LIMIT $4
),
latest AS (
  SELECT DISTINCT ON (j.asset_id) j.id, j.asset_id
  FROM backfill_jobs j JOIN candidates c ON c.asset_id = j.asset_id
  WHERE j.kind = 'refresh'
  ORDER BY j.asset_id, j.id DESC
),
revived AS (
  UPDATE backfill_jobs j
  SET state = 'pending', attempts = 0, next_attempt_at = now(),
      finished_at = NULL, locked_by = NULL, locked_until = NULL,
      no_data_runs = 0, priority = 1, updated_at = now()
  FROM latest l
  WHERE j.id = l.id AND j.state IN ('done', 'failed')
  RETURNING j.asset_id
),
queued AS (
  INSERT INTO backfill_jobs (asset_id, kind, priority)
  SELECT c.asset_id, 'refresh', 1 FROM candidates c
  WHERE NOT EXISTS (SELECT 1 FROM latest l WHERE l.asset_id = c.asset_id)
  ON CONFLICT (asset_id, kind) WHERE )sql" LIVE_STATES R"sql( DO NOTHING
  RETURNING asset_id
)
SELECT (SELECT count(*) FROM revived) + (SELECT count(*) FROM queued),
       coalesce((SELECT max(asset_id) FROM candidates), $1),
       (SELECT count(*) FROM candidates)
)sql";

// $2: whether this write brings the asset up to date; then what it served
// covered every hole before its newest day (a refresh asks from the earliest
// one), so those are the provider's and need no further asking.
const prepared_sql written_sql{"backfilld_note_written", R"sql(
INSERT INTO backfilld_asset_state AS s (asset_id, exchange_timezone,
                                        last_refresh_at, holes_checked_through)
VALUES ($1, nullif($3, ''), CASE WHEN $2::bool THEN now() END,
        CASE WHEN $2::bool THEN (SELECT max(p.date) FROM asset_prices p
                                 WHERE p.asset_id = $1) END)
ON CONFLICT (asset_id) DO UPDATE
SET exchange_timezone = coalesce(EXCLUDED.exchange_timezone,
                                 s.exchange_timezone),
    last_refresh_at = coalesce(EXCLUDED.last_refresh_at, s.last_refresh_at),
    holes_checked_through = coalesce(EXCLUDED.holes_checked_through,
                                     s.holes_checked_through),
    no_data_since = NULL, no_data_days = 0, last_error = NULL,
    -- The symbol answers again (`backfilld refresh SYMBOL` of an inactive
    -- asset): scheduled refreshes resume.
    inactive_since = NULL, inactive_reason = NULL
)sql"};

// $3: "no data"; $4: refresh.delisted-after. Days of "no data" count from
// the first one without a success since (a transient error in between does
// not end the run: it says nothing about the symbol).
const char* failure_sql = R"sql(
INSERT INTO backfilld_asset_state AS s (asset_id, last_error, no_data_since,
                                        no_data_days)
SELECT j.asset_id, $2, CASE WHEN $3::bool THEN current_date END,
       CASE WHEN $3::bool THEN 1 ELSE 0 END
FROM backfill_jobs j WHERE j.id = $1 AND j.kind = 'refresh'
ON CONFLICT (asset_id) DO UPDATE
SET last_error = EXCLUDED.last_error,
    no_data_since = CASE WHEN $3::bool
                         THEN coalesce(s.no_data_since, current_date)
                         ELSE s.no_data_since END,
    no_data_days = CASE WHEN $3::bool
                        THEN current_date
                             - coalesce(s.no_data_since, current_date) + 1
                        ELSE s.no_data_days END
RETURNING s.asset_id, s.no_data_days, s.inactive_since IS NOT NULL AS inactive
)sql";

const char* deactivate_sql = R"sql(
UPDATE backfilld_asset_state
SET inactive_since = now(),
    inactive_reason = 'no data for ' || no_data_days || ' days since '
                      || no_data_since || ': ' || coalesce(last_error, '')
WHERE asset_id = $1 AND inactive_since IS NULL
RETURNING (SELECT symbol FROM assets WHERE id = $1), inactive_reason
)sql";

const char* reactivate_sql = R"sql(
UPDATE backfilld_asset_state s
SET inactive_since = NULL, inactive_reason = NULL, no_data_since = NULL,
    no_data_days = 0
FROM assets a
WHERE a.id = s.asset_id AND s.inactive_since IS NOT NULL
  AND ($1 = '' OR upper(a.symbol) = upper($1) OR a.id::text = $1)
)sql";

// $1: the latest day that is not stale.
const char* stale_sql = R"sql(
SELECT t.asset_id, coalesce(a.symbol, '') AS symbol,
       )sql" DAY_NUMBER("m.last") R"sql( AS last_price,
       coalesce(s.last_error, '') AS last_error
FROM tracked_assets t
JOIN assets a ON a.id = t.asset_id
LEFT JOIN backfilld_asset_state s ON s.asset_id = t.asset_id
CROSS JOIN LATERAL (SELECT max(p.date) AS last FROM asset_prices p
                    WHERE p.asset_id = t.asset_id) m
WHERE t.tracking_users > 0 AND s.inactive_since IS NULL
  AND lower(coalesce(a.asset_type, '')) NOT IN ('cash', 'custom')
  AND m.last < DATE '1970-01-01' + $1::int
ORDER BY m.last, t.asset_id
)sql";

} // namespace

std::set<std::string> refresh_zones(pqxx::connection_base& conn) {
  pqxx::read_transaction txn{conn};
  std::set<std::string> zones;
  for (const auto& row : txn.exec(zones_sql))
    zones.insert(row[0].as<std::string>());
  return zones;
}

refresh_batch enqueue_refreshes(pqxx::connection_base& conn,
                                const std::string& zone, asset_id after,
                                std::chrono::milliseconds fresher_than,
                                int32_t batch) {
  pqxx::work txn{conn};
  auto row =
    txn.exec_params1(enqueue_sql, after, zone, millis(fresher_than), batch);
  refresh_batch result;
  result.queued = row[0].as<int32_t>();
  result.last = row[1].as<asset_id>();
  result.more = row[2].as<int32_t>() >= batch;
  txn.commit();
  return result;
}

void note_written(pqxx::transaction_base& txn, const backfill_job& job,
                  const std::string& exchange_timezone) {
  exec_prepared(txn, written_sql, job.asset,
                job.kind != job_kind::extend || job.rewrites_history(),
                exchange_timezone);
}

void note_written(pqxx::connection_base& conn, const backfill_job& job,
                  const std::string& exchange_timezone) {
  pqxx::work txn{conn};
  note_written(txn, job, exchange_timezone);
  txn.commit();
}

bool says_no_data(const std::string& reason) {
  auto says = [](std::string_view part) {
    for (auto code : {ec::no_data, ec::symbol_not_found})
      if (part.find(std::string{to_string(code)} + ":") != part.npos)
        return true;
    return false;
  };
  // A provider chain's failure lists each provider's reason, "; " between
  // them: only when every provider says so (not when Yahoo is down and a
  // fallback does not know the symbol) is the symbol out of data.
  std::string_view rest{reason};
  for (auto end = rest.find("; "); end != rest.npos; end = rest.find("; ")) {
    if (!says(rest.substr(0, end)))
      return false;
    rest.remove_prefix(end + 2);
  }
  return says(rest);
}

std::string note_refresh_failure(pqxx::connection_base& conn, job_id job,
                                 const std::string& reason, bool no_data,
                                 int32_t delisted_after) {
  pqxx::work txn{conn};
  auto note = note_refresh_failure(txn, job, reason, no_data, delisted_after);
  txn.commit();
  return note;
}

std::string note_refresh_failure(pqxx::transaction_base& txn, job_id job,
                                 const std::string& reason, bool no_data,
                                 int32_t delisted_after) {
  auto rows = txn.exec_params(failure_sql, job, reason, no_data);
  std::string note;
  if (!rows.empty() && !rows[0]["inactive"].as<bool>() &&
      rows[0]["no_data_days"].as<int32_t>() >= delisted_after) {
    auto marked = txn.exec_params(deactivate_sql, rows[0][0].as<asset_id>());
    if (!marked.empty())
      note = marked[0][0].as<std::string>() +
             " is marked inactive (history kept, no more refreshes; "
             "`backfilld retry " +
             marked[0][0].as<std::string>() +
             "` revives it): " + marked[0][1].as<std::string>();
  }
  return note;
}

int32_t reactivate_assets(pqxx::connection_base& conn,
                          const std::string& target) {
  pqxx::work txn{conn};
  auto rows = txn.exec_params(reactivate_sql, target);
  txn.commit();
  return static_cast<int32_t>(rows.affected_rows());
}

std::vector<stale_asset> stale_assets(pqxx::connection_base& conn,
                                      int32_t stale_after) {
  auto today = utc_day(static_cast<int64_t>(std::time(nullptr)));
  pqxx::read_transaction txn{conn};
  std::vector<stale_asset> result;
  for (const auto& row :
       txn.exec_params(stale_sql, weekdays_before(today, stale_after))) {
    stale_asset x;
    x.asset = row["asset_id"].as<asset_id>();
    x.symbol = row["symbol"].as<std::string>();
    x.last_price = row["last_price"].as<day_number>();
    x.last_error = row["last_error"].as<std::string>();
    result.push_back(std::move(x));
  }
  return result;
}

} // namespace backfilld
