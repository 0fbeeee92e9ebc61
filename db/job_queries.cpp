#include "db/job_queries.hpp"

#include <algorithm>
#include <atomic>
#include <ctime>

#include <pqxx/pqxx>

#include "db/array_literal.hpp"
#include "messages/ec.hpp"
#include "provider/symbols.hpp"
#include "provider/trading_day.hpp"
#include "provider/yahoo_chart.hpp"

namespace backfilld {

namespace {

/// The live states; the unique index `backfill_jobs_one_live` covers them.
#define LIVE_STATES "state IN ('pending', 'running')"

// Days are exchanged as counts since 1970-01-01 (see `day_number`).
#define DAY_NUMBER(expr) "(" expr ") - DATE '1970-01-01'"

// The UTC day of an asset's first transaction, whatever the type of the
// tracker's `timestamp` column: a timestamptz is read in UTC, a timestamp
// without time zone as written. (`AT TIME ZONE 'UTC'` on a timestamp makes a
// timestamptz, which `::date` then shifts by the session's TimeZone; the
// type test runs once per asset, on the minimum, not per row.)
#define FIRST_TRANSACTION_DAY(asset)                                           \
  "(SELECT CASE WHEN pg_typeof(m.first) = 'timestamptz'::regtype"              \
  " THEN (m.first AT TIME ZONE 'UTC')::date ELSE m.first::date END"            \
  " FROM (SELECT min(t.timestamp) AS first FROM transactions t"                \
  " WHERE t.asset_id = " asset ") m)"

// Whether a running job's holder session is gone (its daemon died). Only
// jobs claimed since holders were recorded. pg_stat_activity shows every
// session's pid to any role, but its start only to the same role (or
// pg_read_all_stats): where the start is hidden, a live pid counts as the
// holder (a reused pid then only delays the takeover to the lease). It is
// read once per
// transaction, while SKIP LOCKED re-reads a row claimed since: only a holder
// that stamped the row before this transaction began (`updated_at`, its own
// transaction's start) was surely running when that read was taken, so only
// its absence proves it gone.
#define HOLDER_GONE(j)                                                         \
  "(" j ".holder_pid IS NOT NULL AND " j ".holder_started IS NOT NULL"         \
  " AND " j ".updated_at < now()"                                              \
  " AND NOT EXISTS (SELECT 1 FROM pg_stat_activity s WHERE s.pid = " j         \
  ".holder_pid AND (s.backend_start = " j ".holder_started"                    \
  " OR s.backend_start IS NULL)))"

// This connection's session, which a claim or heartbeat names as holder.
#define HOLDER_SET                                                             \
  "holder_pid = pg_backend_pid(), holder_started = (SELECT s.backend_start"    \
  " FROM pg_stat_activity s WHERE s.pid = pg_backend_pid())"

// What a claimed job carries to the fetcher. Symbol and type are coalesced:
// a tracker row with NULL there must not make a claim undecodable.
// clang-format off
#define CLAIMED_COLUMNS                                                        \
  "j.id, j.asset_id, j.kind, coalesce(a.symbol, '') AS symbol,"                \
  " coalesce(a.asset_type, '') AS asset_type,"                                 \
  " coalesce(a.currency, '') AS currency, j.attempts, "                        \
  DAY_NUMBER(FIRST_TRANSACTION_DAY("j.asset_id")) " AS first_transaction, "    \
  DAY_NUMBER("SELECT min(p.date) FROM asset_prices p"                          \
             " WHERE p.asset_id = j.asset_id") " AS first_price, "             \
  DAY_NUMBER("j.want_from") " AS want_from"
// clang-format on

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

// Jobs that were claimed max_attempts times without an outcome (their
// worker died each time) or that ran out while released: given up, so that
// a job that kills its worker cannot loop forever.
const char* exhaust_sql = R"sql(
UPDATE backfill_jobs j
SET state = 'failed', permanent = false, finished_at = now(),
    updated_at = now(), locked_by = NULL, locked_until = NULL,
    last_error = 'gave up after ' || attempts
                 || ' attempts without an outcome (the worker holding it'
                 || ' stopped each time)'
WHERE attempts >= $1
  AND ((state = 'pending' AND next_attempt_at <= now())
       OR (state = 'running'
           AND (locked_until < now()
                OR (locked_by <> $2 AND )sql" HOLDER_GONE("j") R"sql())))
RETURNING id
)sql";

// Our own jobs are never taken over because our session changed: we may
// still hold them in memory; the heartbeat re-ties them to the new session.
const char* claim_sql = R"sql(
WITH due AS (
  SELECT j.id, j.state AS previous_state, j.locked_by AS previous_owner,
         j.state = 'running' AND j.locked_until >= now() AS holder_gone
  FROM backfill_jobs j
  WHERE (j.state = 'pending' AND j.next_attempt_at <= now())
     OR (j.state = 'running' AND j.locked_until < now())
     OR (j.state = 'running' AND j.locked_by <> $2
         AND )sql" HOLDER_GONE("j") R"sql()
  ORDER BY j.next_attempt_at, j.id
  LIMIT $1
  FOR UPDATE OF j SKIP LOCKED
)
UPDATE backfill_jobs j
SET state = 'running',
    attempts = j.attempts + 1,
    locked_by = $2,
    locked_until = now() + $3::float8 * interval '1 millisecond',
    claim_token = $4,
    )sql" HOLDER_SET R"sql(,
    updated_at = now()
FROM due, assets a
WHERE j.id = due.id AND a.id = j.asset_id
RETURNING )sql" CLAIMED_COLUMNS R"sql(,
          due.previous_state, coalesce(due.previous_owner, '') AS previous_owner,
          due.holder_gone
)sql";

// A claim whose commit went unanswered, read back on a new session.
const char* resolve_sql = R"sql(
UPDATE backfill_jobs j
SET locked_until = now() + $3::float8 * interval '1 millisecond',
    )sql" HOLDER_SET R"sql(,
    updated_at = now()
FROM assets a
WHERE j.claim_token = $1 AND j.state = 'running' AND j.locked_by = $2
  AND a.id = j.asset_id
RETURNING )sql" CLAIMED_COLUMNS R"sql(,
          'pending' AS previous_state, '' AS previous_owner,
          false AS holder_gone
)sql";

const char* finish_sql = R"sql(
UPDATE backfill_jobs
SET state = 'done', locked_by = NULL, locked_until = NULL, last_error = NULL,
    no_data_runs = 0, finished_at = now(), updated_at = now()
WHERE id = $1 AND state = 'running' AND locked_by = $2
)sql";

// $8: the attempt found no data. When attempts ran out on "no data" and had
// run out on it before (the job was revived and nothing changed), the
// symbol is dead: the failure becomes permanent.
const char* fail_sql = R"sql(
UPDATE backfill_jobs
SET state = CASE WHEN $3::bool THEN 'failed' ELSE 'pending' END,
    attempts = greatest(attempts - CASE WHEN $4::bool THEN 1 ELSE 0 END, 0),
    next_attempt_at = now() + $5::float8 * interval '1 millisecond',
    last_error = CASE WHEN $3::bool AND $8::bool AND no_data_runs > 0
                      AND NOT $7::bool
                      THEN 'no data again after a revival, given up for good: '
                           || $6
                      ELSE $6 END,
    permanent = $7::bool OR ($3::bool AND $8::bool AND no_data_runs > 0),
    no_data_runs = CASE WHEN $3::bool AND $8::bool THEN no_data_runs + 1
                        WHEN $3::bool THEN 0 ELSE no_data_runs END,
    locked_by = NULL, locked_until = NULL, updated_at = now(),
    finished_at = CASE WHEN $3::bool THEN now() END
WHERE id = $1 AND state = 'running' AND locked_by = $2
)sql";

const char* extend_sql = R"sql(
UPDATE backfill_jobs
SET locked_until = now() + $3::float8 * interval '1 millisecond',
    )sql" HOLDER_SET R"sql(,
    updated_at = now()
WHERE id = ANY($1::bigint[]) AND state = 'running' AND locked_by = $2
)sql";

// After a reconnect: our running jobs still name the session that broke.
const char* retie_sql = R"sql(
UPDATE backfill_jobs
SET )sql" HOLDER_SET R"sql(, updated_at = now()
WHERE state = 'running' AND locked_by = $1
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

// The newest job of an asset and kind remembers what was settled (a listing
// date, an extension's target): it stays whatever its age.
const char* prune_sql = R"sql(
DELETE FROM backfill_jobs j
WHERE j.state = 'done'
  AND j.finished_at < now() - $1::float8 * interval '1 millisecond'
  AND EXISTS (SELECT 1 FROM backfill_jobs n
              WHERE n.asset_id = j.asset_id AND n.kind = j.kind
                AND n.id > j.id)
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
    finished_at = NULL, no_data_runs = 0, updated_at = now()
FROM latest WHERE j.id = latest.id
)sql";

#undef LIVE_STATES
#undef DAY_NUMBER
#undef FIRST_TRANSACTION_DAY
#undef HOLDER_GONE
#undef HOLDER_SET
#undef CLAIMED_COLUMNS

/// The SQL answers with the enumerators' names (see `to_string`).
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

day_number day_or_none(const pqxx::field& f) {
  return f.is_null() ? no_day : f.as<day_number>();
}

double millis(std::chrono::milliseconds x) {
  return static_cast<double>(x.count());
}

/// The first day `history.range` asks for, as a day number. "max" becomes a
/// day far enough back that no stored history reaches it, yet one that
/// PostgreSQL's date type holds.
int32_t range_start_day(const queue_settings& queue) {
  auto today = utc_day(static_cast<int64_t>(std::time(nullptr)));
  return std::max(range_start(queue.history_range, today), -700'000);
}

/// Decodes claimed rows; runs before the commit so that a row that cannot be
/// decoded rolls the claim back instead of orphaning it.
std::vector<backfill_job> decode_claimed(const pqxx::result& rows,
                                         std::vector<std::string>& notes) {
  std::vector<backfill_job> jobs;
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
      notes.push_back(
        "Reclaimed job " + std::to_string(job.id) + " (asset " +
        std::to_string(job.asset) + ", " + job.symbol + ") from " +
        (row["holder_gone"].as<bool>() ? "the ended database session of "
                                       : "expired lease of ") +
        row["previous_owner"].as<std::string>());
    jobs.push_back(std::move(job));
  }
  return jobs;
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

std::string claim_token(const queue_settings& lease) {
  static std::atomic<uint64_t> counter{0};
  return lease.worker + "#" + std::to_string(++counter);
}

std::vector<backfill_job> claim_jobs(pqxx::connection_base& conn,
                                     uint32_t limit,
                                     const queue_settings& lease,
                                     std::vector<std::string>& notes,
                                     const std::string& token) {
  if (limit == 0)
    return {};
  std::vector<backfill_job> jobs;
  std::vector<std::string> claim_notes;
  pqxx::work txn{conn};
  for (const auto& row :
       txn.exec_params(exhaust_sql, lease.max_attempts, lease.worker))
    claim_notes.push_back("Gave up on job " + row[0].as<std::string>() +
                          ": claimed " + std::to_string(lease.max_attempts) +
                          " times without an outcome");
  jobs = decode_claimed(
    txn.exec_params(claim_sql, limit, lease.worker, millis(lease.duration),
                    token.empty() ? claim_token(lease) : token),
    claim_notes);
  txn.commit();
  notes.insert(notes.end(), claim_notes.begin(), claim_notes.end());
  return jobs;
}

std::vector<backfill_job> resolve_claim(pqxx::connection_base& conn,
                                        const std::string& token,
                                        const queue_settings& lease) {
  pqxx::work txn{conn};
  std::vector<std::string> ignored;
  auto jobs = decode_claimed(
    txn.exec_params(resolve_sql, token, lease.worker, millis(lease.duration)),
    ignored);
  txn.commit();
  return jobs;
}

int32_t prune_jobs(pqxx::connection_base& conn, const queue_settings& queue) {
  if (queue.prune_after.count() <= 0)
    return 0;
  pqxx::work txn{conn};
  auto rows = txn.exec_params(prune_sql, millis(queue.prune_after));
  txn.commit();
  return static_cast<int32_t>(rows.affected_rows());
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
  // The fetcher reports "no data" as `no_data: …` (possibly behind the
  // queue's "gave up after N attempts: ").
  auto no_data = verdict.reason.find(std::string{to_string(ec::no_data)} +
                                     ":") != std::string::npos;
  auto rows = txn.exec_params(fail_sql, verdict.job, lease.worker,
                              verdict.gives_up(), verdict.refund_attempt,
                              static_cast<double>(verdict.delay_ms),
                              verdict.reason, verdict.permanent(), no_data);
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

int32_t retie_jobs(pqxx::connection_base& conn, const queue_settings& lease) {
  pqxx::work txn{conn};
  auto rows = txn.exec_params(retie_sql, lease.worker);
  txn.commit();
  return static_cast<int32_t>(rows.affected_rows());
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
