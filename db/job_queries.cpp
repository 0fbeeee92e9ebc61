#include "db/job_queries.hpp"

#include <pqxx/pqxx>

#include "db/array_literal.hpp"

namespace backfilld {

namespace {

/// The live states; the unique index `backfill_jobs_one_live` covers them.
#define LIVE_STATES "state IN ('pending', 'running')"

// Days are exchanged as counts since 1970-01-01 (see `day_number`).
#define DAY_NUMBER(expr) "(" expr ") - DATE '1970-01-01'"

const char* enqueue_sql = R"sql(
WITH input AS (
  SELECT DISTINCT unnest($1::int[]) AS asset_id
),
known AS (
  -- A failed backfill holds the asset back: for good when it was permanent
  -- (until `backfilld retry`), for a while when attempts ran out (an
  -- outage), after which catch-up queues it again.
  SELECT a.id AS asset_id, a.symbol,
         EXISTS (SELECT 1 FROM asset_prices p WHERE p.asset_id = a.id)
           AS has_prices,
         failure.last_error IS NOT NULL AS failed_before,
         failure.last_error
  FROM assets a
  JOIN input i ON i.asset_id = a.id
  LEFT JOIN LATERAL (
    SELECT coalesce(j.last_error, '') AS last_error
    FROM backfill_jobs j
    WHERE j.asset_id = a.id AND j.kind = 'backfill' AND j.state = 'failed'
      AND (j.permanent
           OR j.finished_at > now() - $2::float8 * interval '1 millisecond')
    ORDER BY j.id DESC LIMIT 1
  ) failure ON true
),
queued AS (
  INSERT INTO backfill_jobs (asset_id, kind)
  SELECT asset_id, 'backfill' FROM known
  WHERE NOT has_prices AND NOT failed_before
  ON CONFLICT (asset_id, kind) WHERE )sql" LIVE_STATES R"sql( DO NOTHING
  RETURNING asset_id
),
gaps AS (
  -- A transaction more than a week older than the first price asks once
  -- for an extension back to its day; a job that already asked for that
  -- day (even if the provider had nothing older) settles it.
  SELECT k.asset_id, span.first_transaction
  FROM known k
  CROSS JOIN LATERAL (
    SELECT (SELECT min(t.timestamp AT TIME ZONE 'UTC')::date
            FROM transactions t WHERE t.asset_id = k.asset_id)
             AS first_transaction,
           (SELECT min(p.date) FROM asset_prices p
            WHERE p.asset_id = k.asset_id) AS first_price
  ) span
  WHERE k.has_prices
    AND span.first_transaction < span.first_price - 7
    AND NOT EXISTS (SELECT 1 FROM backfill_jobs j
                    WHERE j.asset_id = k.asset_id AND j.kind = 'extend'
                      AND ()sql" LIVE_STATES R"sql(
                           OR j.want_from <= span.first_transaction))
),
extended AS (
  INSERT INTO backfill_jobs (asset_id, kind, want_from)
  SELECT asset_id, 'extend', first_transaction FROM gaps
  ON CONFLICT (asset_id, kind) WHERE )sql" LIVE_STATES R"sql( DO NOTHING
  RETURNING asset_id
)
SELECT i.asset_id, coalesce(k.symbol, '') AS symbol,
       CASE WHEN k.asset_id IS NULL THEN 'unknown_asset'
            WHEN q.asset_id IS NOT NULL THEN 'queued'
            WHEN k.has_prices THEN 'has_prices'
            WHEN k.failed_before THEN 'failed_before'
            ELSE 'already_queued' END AS outcome,
       e.asset_id IS NOT NULL AS extension_queued,
       coalesce(k.last_error, '') AS last_error
FROM input i
LEFT JOIN known k USING (asset_id)
LEFT JOIN queued q USING (asset_id)
LEFT JOIN extended e USING (asset_id)
ORDER BY i.asset_id
)sql";

// Jobs that were claimed max_attempts times without an outcome (their
// worker died each time) or that ran out while released: given up, so that
// a job that kills its worker cannot loop forever.
const char* exhaust_sql = R"sql(
UPDATE backfill_jobs
SET state = 'failed', permanent = false, finished_at = now(),
    updated_at = now(), locked_by = NULL, locked_until = NULL,
    last_error = 'gave up after ' || attempts
                 || ' attempts without an outcome (the worker holding it'
                 || ' stopped each time)'
WHERE attempts >= $1
  AND ((state = 'pending' AND next_attempt_at <= now())
       OR (state = 'running' AND locked_until < now()))
RETURNING id
)sql";

const char* claim_sql = R"sql(
WITH due AS (
  SELECT id, state AS previous_state, locked_by AS previous_owner
  FROM backfill_jobs
  WHERE (state = 'pending' AND next_attempt_at <= now())
     OR (state = 'running' AND locked_until < now())
  ORDER BY next_attempt_at, id
  LIMIT $1
  FOR UPDATE SKIP LOCKED
)
UPDATE backfill_jobs j
SET state = 'running',
    attempts = j.attempts + 1,
    locked_by = $2,
    locked_until = now() + $3::float8 * interval '1 millisecond',
    updated_at = now()
FROM due, assets a
WHERE j.id = due.id AND a.id = j.asset_id
RETURNING j.id, j.asset_id, j.kind, a.symbol, a.asset_type,
          coalesce(a.currency, '') AS currency, j.attempts,
          )sql" DAY_NUMBER("SELECT min(t.timestamp AT TIME ZONE 'UTC')::date "
                           "FROM transactions t WHERE t.asset_id = j.asset_id")
  R"sql( AS first_transaction,
          )sql" DAY_NUMBER("SELECT min(p.date) FROM asset_prices p "
                           "WHERE p.asset_id = j.asset_id")
    R"sql( AS first_price,
          )sql" DAY_NUMBER("j.want_from") R"sql( AS want_from,
          due.previous_state, coalesce(due.previous_owner, '') AS previous_owner
)sql";

const char* finish_sql = R"sql(
UPDATE backfill_jobs
SET state = 'done', locked_by = NULL, locked_until = NULL, last_error = NULL,
    finished_at = now(), updated_at = now()
WHERE id = $1 AND state = 'running' AND locked_by = $2
)sql";

const char* fail_sql = R"sql(
UPDATE backfill_jobs
SET state = CASE WHEN $3::bool THEN 'failed' ELSE 'pending' END,
    attempts = greatest(attempts - CASE WHEN $4::bool THEN 1 ELSE 0 END, 0),
    next_attempt_at = now() + $5::float8 * interval '1 millisecond',
    last_error = $6,
    permanent = $7::bool,
    locked_by = NULL, locked_until = NULL, updated_at = now(),
    finished_at = CASE WHEN $3::bool THEN now() END
WHERE id = $1 AND state = 'running' AND locked_by = $2
)sql";

const char* extend_sql = R"sql(
UPDATE backfill_jobs
SET locked_until = now() + $3::float8 * interval '1 millisecond',
    updated_at = now()
WHERE id = ANY($1::bigint[]) AND state = 'running' AND locked_by = $2
)sql";

// Ours, running, in nobody's hands, and not extended for `orphan_after`:
// a claim whose answer never arrived. The attempt never ran.
const char* orphans_sql = R"sql(
UPDATE backfill_jobs
SET state = 'pending', attempts = greatest(attempts - 1, 0),
    next_attempt_at = now(), locked_by = NULL, locked_until = NULL,
    updated_at = now()
WHERE state = 'running' AND locked_by = $2 AND NOT (id = ANY($1::bigint[]))
  AND locked_until < now() + ($3::float8 - $4::float8)
                             * interval '1 millisecond'
)sql";

const char* release_sql = R"sql(
UPDATE backfill_jobs
SET state = 'pending',
    attempts = greatest(attempts - CASE WHEN $3::bool THEN 1 ELSE 0 END, 0),
    next_attempt_at = now(), locked_by = NULL, locked_until = NULL,
    updated_at = now()
WHERE id = ANY($1::bigint[]) AND state = 'running' AND locked_by = $2
)sql";

const char* candidates_sql = R"sql(
SELECT DISTINCT asset_id FROM transactions ORDER BY asset_id
)sql";

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
    finished_at = NULL, updated_at = now()
FROM latest WHERE j.id = latest.id
)sql";

#undef LIVE_STATES
#undef DAY_NUMBER

/// The SQL answers with the enumerators' names (see `to_string`).
enqueue_outcome to_outcome(const std::string& x) {
  for (auto outcome :
       {enqueue_outcome::queued, enqueue_outcome::already_queued,
        enqueue_outcome::has_prices, enqueue_outcome::failed_before})
    if (x == to_string(outcome))
      return outcome;
  return enqueue_outcome::unknown_asset;
}

day_number day_or_none(const pqxx::field& f) {
  return f.is_null() ? no_day : f.as<day_number>();
}

double millis(std::chrono::milliseconds x) {
  return static_cast<double>(x.count());
}

} // namespace

std::vector<enqueue_result> enqueue_jobs(pqxx::connection_base& conn,
                                         const std::vector<asset_id>& assets,
                                         const queue_settings& queue) {
  std::vector<enqueue_result> results;
  if (assets.empty())
    return results;
  pqxx::work txn{conn};
  auto rows = txn.exec_params(enqueue_sql, array_literal(assets),
                              millis(queue.revive_after));
  txn.commit();
  results.reserve(rows.size());
  for (const auto& row : rows)
    results.push_back(enqueue_result{
      row["asset_id"].as<asset_id>(), row["symbol"].as<std::string>(),
      to_outcome(row["outcome"].as<std::string>()),
      row["extension_queued"].as<bool>(), row["last_error"].as<std::string>()});
  return results;
}

std::vector<backfill_job> claim_jobs(pqxx::connection_base& conn,
                                     uint32_t limit,
                                     const queue_settings& lease,
                                     std::vector<std::string>& reclaimed) {
  std::vector<backfill_job> jobs;
  if (limit == 0)
    return jobs;
  pqxx::work txn{conn};
  for (const auto& row : txn.exec_params(exhaust_sql, lease.max_attempts))
    reclaimed.push_back("Gave up on job " + row[0].as<std::string>() +
                        ": claimed " + std::to_string(lease.max_attempts) +
                        " times without an outcome");
  auto rows =
    txn.exec_params(claim_sql, limit, lease.worker, millis(lease.duration));
  txn.commit();
  jobs.reserve(rows.size());
  for (const auto& row : rows) {
    backfill_job job;
    job.id = row["id"].as<job_id>();
    job.asset = row["asset_id"].as<asset_id>();
    job.kind = row["kind"].as<std::string>() == to_string(job_kind::extend)
                 ? job_kind::extend
                 : job_kind::backfill;
    job.symbol = row["symbol"].as<std::string>();
    job.asset_type = row["asset_type"].as<std::string>();
    job.currency = row["currency"].as<std::string>();
    job.attempts = row["attempts"].as<int32_t>();
    job.first_transaction = day_or_none(row["first_transaction"]);
    job.first_price = day_or_none(row["first_price"]);
    job.want_from = day_or_none(row["want_from"]);
    if (row["previous_state"].as<std::string>() == "running")
      reclaimed.push_back("Reclaimed job " + std::to_string(job.id) +
                          " (asset " + std::to_string(job.asset) + ", " +
                          job.symbol + ") from expired lease of " +
                          row["previous_owner"].as<std::string>());
    jobs.push_back(std::move(job));
  }
  return jobs;
}

bool finish_job(pqxx::connection_base& conn, job_id job,
                const queue_settings& lease) {
  pqxx::work txn{conn};
  auto rows = txn.exec_params(finish_sql, job, lease.worker);
  txn.commit();
  return rows.affected_rows() == 1;
}

bool fail_job(pqxx::connection_base& conn, const job_verdict& verdict,
              const queue_settings& lease) {
  pqxx::work txn{conn};
  auto rows = txn.exec_params(fail_sql, verdict.job, lease.worker,
                              verdict.give_up, verdict.refund_attempt,
                              static_cast<double>(verdict.delay_ms),
                              verdict.reason, verdict.permanent);
  txn.commit();
  return rows.affected_rows() == 1;
}

lease_check extend_leases(pqxx::connection_base& conn,
                          const std::vector<job_id>& held,
                          const queue_settings& lease) {
  lease_check result;
  pqxx::work txn{conn};
  auto ids = array_literal(held);
  if (!held.empty())
    result.extended = static_cast<int32_t>(
      txn.exec_params(extend_sql, ids, lease.worker, millis(lease.duration))
        .affected_rows());
  result.orphans_released = static_cast<int32_t>(
    txn
      .exec_params(orphans_sql, ids, lease.worker, millis(lease.duration),
                   millis(lease.orphan_after))
      .affected_rows());
  txn.commit();
  return result;
}

int32_t release_jobs(pqxx::connection_base& conn, const job_release& release,
                     const queue_settings& lease) {
  if (release.jobs.empty())
    return 0;
  pqxx::work txn{conn};
  auto rows = txn.exec_params(release_sql, array_literal(release.jobs),
                              lease.worker, release.refund_attempt);
  txn.commit();
  return static_cast<int32_t>(rows.affected_rows());
}

std::vector<asset_id> assets_with_transactions(pqxx::connection_base& conn) {
  pqxx::read_transaction txn{conn};
  auto rows = txn.exec(candidates_sql);
  std::vector<asset_id> result;
  result.reserve(rows.size());
  for (const auto& row : rows)
    result.push_back(row[0].as<asset_id>());
  return result;
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
