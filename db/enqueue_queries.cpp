#include "db/enqueue_queries.hpp"

#include <algorithm>
#include <ctime>

#include <pqxx/pqxx>

#include "db/array_literal.hpp"
#include "db/sql_fragments.hpp"
#include "provider/symbols.hpp"
#include "provider/trading_day.hpp"
#include "provider/yahoo_chart.hpp"

namespace backfilld {

namespace {

const char* enqueue_sql = R"sql(
WITH input AS (
  SELECT DISTINCT unnest($1::int[]) AS asset_id
),
span AS (
  SELECT a.id AS asset_id, a.symbol, coalesce(a.asset_type, '') AS asset_type,
         )sql" FIRST_TRANSACTION_DAY("a.id") R"sql( AS first_transaction,
         (SELECT min(p.date) FROM asset_prices p WHERE p.asset_id = a.id)
           AS first_price
  FROM assets a
  JOIN input i ON i.asset_id = a.id
),
known AS (
  -- An asset needs its backfill while it has no prices, or while its prices
  -- do not reach back to the earlier of its first transaction and the
  -- configured range (a week's slack) and no backfill of it ever finished
  -- (one that did fetched all the provider had: a listing date). Prices the
  -- tracker's own updater wrote for today do not count as history. An asset
  -- without transactions is held by nobody: any prices will do.
  SELECT s.*,
         s.first_price IS NULL
         OR (s.first_transaction IS NOT NULL
             AND s.first_price > least(s.first_transaction,
                                       DATE '1970-01-01' + $3::int) + 7
             AND NOT EXISTS (SELECT 1 FROM backfill_jobs d
                             WHERE d.asset_id = s.asset_id
                               AND d.kind = 'backfill' AND d.state = 'done'))
           AS needs_backfill,
         b.id AS backfill_job, b.state AS backfill_state,
         -- A failed backfill holds the asset back: for good when it was
         -- permanent (until `backfilld retry`), for a while when attempts
         -- ran out (an outage), after which catch-up revives it.
         coalesce(b.state = 'failed'
                  AND (b.permanent
                       OR b.finished_at > now()
                                          - $2::float8
                                            * interval '1 millisecond'),
                  false) AS held_back,
         coalesce(b.last_error, '') AS last_error,
         coalesce(b.permanent, false) AS backfill_permanent,
         e.id AS extend_job, e.state AS extend_state, e.want_from,
         coalesce(e.state = 'failed'
                  AND (e.permanent
                       OR e.finished_at > now()
                                          - $2::float8
                                            * interval '1 millisecond'),
                  false) AS extend_held_back
  FROM span s
  -- The newest job of each kind is the one that counts, and the one a
  -- revival reuses.
  LEFT JOIN LATERAL (
    SELECT j.id, j.state, j.permanent, j.finished_at, j.last_error
    FROM backfill_jobs j
    WHERE j.asset_id = s.asset_id AND j.kind = 'backfill'
    ORDER BY j.id DESC LIMIT 1
  ) b ON true
  LEFT JOIN LATERAL (
    SELECT j.id, j.state, j.permanent, j.finished_at, j.want_from
    FROM backfill_jobs j
    WHERE j.asset_id = s.asset_id AND j.kind = 'extend'
    ORDER BY j.id DESC LIMIT 1
  ) e ON true
),
revived AS (
  -- A finished job (its prices were deleted since) or one whose attempts ran
  -- out long enough ago runs again in its own row.
  UPDATE backfill_jobs j
  SET state = 'pending', attempts = 0, next_attempt_at = now(),
      finished_at = NULL, locked_by = NULL, locked_until = NULL,
      updated_at = now()
  FROM known k
  WHERE j.id = k.backfill_job AND k.needs_backfill AND NOT k.held_back
    AND j.state IN ('done', 'failed')
  RETURNING j.asset_id
),
queued AS (
  INSERT INTO backfill_jobs (asset_id, kind)
  SELECT asset_id, 'backfill' FROM known
  WHERE needs_backfill AND backfill_job IS NULL
  ON CONFLICT (asset_id, kind) WHERE )sql" LIVE_STATES R"sql( DO NOTHING
  RETURNING asset_id
),
gaps AS (
  -- A transaction more than a week older than the first price asks once
  -- for an extension back to its day; a job that reached back to that day
  -- (even if the provider had nothing older) settles it, a failed one holds
  -- it back like a failed backfill.
  SELECT k.asset_id, k.first_transaction, k.extend_job, k.extend_state
  FROM known k
  WHERE NOT k.needs_backfill
    AND k.first_transaction < k.first_price - 7
    AND NOT coalesce(k.extend_state IN ('pending', 'running'), false)
    AND NOT k.extend_held_back
    AND NOT coalesce(k.extend_state = 'done'
                     AND k.want_from <= k.first_transaction, false)
),
extension_revived AS (
  UPDATE backfill_jobs j
  SET state = 'pending', attempts = 0, next_attempt_at = now(),
      want_from = least(g.first_transaction, j.want_from),
      finished_at = NULL, locked_by = NULL, locked_until = NULL,
      updated_at = now()
  FROM gaps g
  WHERE j.id = g.extend_job AND j.state IN ('done', 'failed')
  RETURNING j.asset_id
),
extended AS (
  INSERT INTO backfill_jobs (asset_id, kind, want_from)
  SELECT asset_id, 'extend', first_transaction FROM gaps
  WHERE extend_job IS NULL
  ON CONFLICT (asset_id, kind) WHERE )sql" LIVE_STATES R"sql( DO NOTHING
  RETURNING asset_id
)
SELECT i.asset_id, coalesce(k.symbol, '') AS symbol,
       CASE WHEN k.asset_id IS NULL THEN 'unknown_asset'
            WHEN q.asset_id IS NOT NULL OR r.asset_id IS NOT NULL
              THEN 'queued'
            WHEN NOT k.needs_backfill THEN 'has_prices'
            WHEN k.held_back THEN 'failed_before'
            ELSE 'already_queued' END AS outcome,
       e.asset_id IS NOT NULL OR er.asset_id IS NOT NULL AS extension_queued,
       coalesce(k.last_error, '') AS last_error,
       coalesce(k.backfill_permanent, false) AS permanent,
       coalesce(k.asset_type, '') AS asset_type
FROM input i
LEFT JOIN known k USING (asset_id)
LEFT JOIN queued q USING (asset_id)
LEFT JOIN revived r USING (asset_id)
LEFT JOIN extended e USING (asset_id)
LEFT JOIN extension_revived er USING (asset_id)
ORDER BY i.asset_id
)sql";

hold_reason hold_reason_of(const std::string& asset_type, bool permanent) {
  if (!has_market_price(asset_type))
    return hold_reason::no_market_price;
  return permanent ? hold_reason::permanent_failure
                   : hold_reason::attempts_ran_out;
}

enqueue_outcome to_outcome(const std::string& x) {
  for (auto outcome :
       {enqueue_outcome::queued, enqueue_outcome::already_queued,
        enqueue_outcome::has_prices, enqueue_outcome::failed_before})
    if (x == to_string(outcome))
      return outcome;
  return enqueue_outcome::unknown_asset;
}

/// The first day `history.range` asks for, as a day number. "max" becomes a
/// day far enough back that no stored history reaches it, yet one that
/// PostgreSQL's date type holds.
int32_t range_start_day(const queue_settings& queue) {
  auto today = utc_day(static_cast<int64_t>(std::time(nullptr)));
  return std::max(range_start(queue.history_range, today), -700'000);
}

} // namespace

std::vector<enqueue_result> enqueue_jobs(pqxx::connection_base& conn,
                                         const std::vector<asset_id>& assets,
                                         const queue_settings& queue) {
  std::vector<enqueue_result> results;
  if (assets.empty())
    return results;
  pqxx::work txn{conn};
  auto rows =
    txn.exec_params(enqueue_sql, array_literal(assets),
                    millis(queue.revive_after), range_start_day(queue));
  results.reserve(rows.size());
  // Decoded before the commit: a row that cannot be read rolls it back.
  for (const auto& row : rows) {
    enqueue_result r;
    r.asset = row["asset_id"].as<asset_id>();
    r.symbol = row["symbol"].as<std::string>();
    r.outcome = to_outcome(row["outcome"].as<std::string>());
    r.extension_queued = row["extension_queued"].as<bool>();
    if (r.outcome == enqueue_outcome::failed_before)
      r.held_back = hold_reason_of(row["asset_type"].as<std::string>(),
                                   row["permanent"].as<bool>());
    r.last_error = row["last_error"].as<std::string>();
    results.push_back(std::move(r));
  }
  txn.commit();
  return results;
}

} // namespace backfilld
