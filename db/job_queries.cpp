#include "db/job_queries.hpp"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <set>

#include <pqxx/pqxx>

#include "db/array_literal.hpp"
#include "db/prepared.hpp"
#include "db/refresh_queries.hpp"
#include "db/sql_fragments.hpp"
#include "messages/ec.hpp"
#include "provider/symbols.hpp"
#include "provider/trading_day.hpp"
#include "provider/yahoo_chart.hpp"

namespace backfilld {

namespace {

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

// Weekdays from 1900-01-01 (a Monday) up to the day before `d`: the
// difference of two is how many weekdays lie between them.
#define WEEKDAYS_BEFORE(d)                                                     \
  "(((" d ") - DATE '1900-01-01') / 7 * 5"                                     \
  " + least(((" d ") - DATE '1900-01-01') % 7, 5))"

// For a refresh: the last stored day before the earliest hole (more than
// `gap` missing weekdays) in the stored history since `from`, in one scan
// of the asset's stored days (the primary key's index). A hole before
// `holes_checked_through` was in an answer already: the provider has nothing
// for it, and asking again every refresh would fetch up to history.range.
// clang-format off
#define EARLIEST_HOLE(from, gap)                                               \
  "SELECT min(g.prev) FROM (SELECT p.date, lag(p.date) OVER (ORDER BY p.date)" \
  " AS prev FROM asset_prices p WHERE p.asset_id = j.asset_id"                 \
  " AND p.date >= DATE '1970-01-01' + " from "::int) g"                        \
  " WHERE g.prev IS NOT NULL"                                                  \
  " AND g.prev >= coalesce((SELECT s.holes_checked_through"                    \
  " FROM backfilld_asset_state s WHERE s.asset_id = j.asset_id),"              \
  " '-infinity'::date) AND " WEEKDAYS_BEFORE("g.date") " - "                   \
  WEEKDAYS_BEFORE("g.prev + 1") " > " gap "::int"

// What a claimed job carries to the fetcher. Symbol and type are coalesced:
// a tracker row with NULL there must not make a claim undecodable. `from`
// and `gap` are the parameters that bound a refresh's search for holes;
// `source` names the assets column that may name the asset's provider (read
// through to_jsonb, so a column the tracker lacks is NULL, not an error).
#define CLAIMED_COLUMNS(from, gap, source)                                     \
  "j.id, j.asset_id, j.kind, coalesce(a.symbol, '') AS symbol,"                \
  " coalesce(to_jsonb(a) ->> " source "::text, '') AS data_source,"            \
  " coalesce(a.asset_type, '') AS asset_type,"                                 \
  " coalesce(a.currency, '') AS currency, j.attempts, "                        \
  DAY_NUMBER(FIRST_TRANSACTION_DAY("j.asset_id")) " AS first_transaction, "    \
  DAY_NUMBER("SELECT min(p.date) FROM asset_prices p"                          \
             " WHERE p.asset_id = j.asset_id") " AS first_price, "             \
  DAY_NUMBER("SELECT max(p.date) FROM asset_prices p"                          \
             " WHERE p.asset_id = j.asset_id") " AS last_price, "              \
  DAY_NUMBER("CASE WHEN j.kind = 'refresh' THEN (" EARLIEST_HOLE(from, gap)    \
             ") ELSE j.want_from END") " AS want_from"
// clang-format on

// Jobs that were claimed max_attempts times without an outcome (their
// worker died each time) or that ran out while released: given up, so that
// a job that kills its worker cannot loop forever.
const prepared_sql exhaust_sql{"backfilld_exhaust_jobs", R"sql(
UPDATE backfill_jobs j
SET state = 'failed', permanent = false, finished_at = now(),
    updated_at = now(), locked_by = NULL, locked_until = NULL,
    last_error = 'gave up after ' || attempts
                 || ' attempts without an outcome (the worker holding it'
                 || ' stopped each time)'
WHERE attempts >= $1 AND state IN ('pending', 'running')
  AND ((state = 'pending' AND next_attempt_at <= now())
       OR (state = 'running'
           AND (locked_until < now()
                OR (locked_by <> $2 AND )sql" HOLDER_GONE("j") R"sql())))
RETURNING id
)sql"};

// Our own jobs are never taken over because our session changed: we may
// still hold them in memory; the heartbeat re-ties them to the new session.
//
// Due jobs are picked in two parts, each along its own index, and merged:
// one condition over both (pending and due, or running and abandoned) made
// PostgreSQL read and sort every row of the table on each claim. Pending
// jobs come in claim order along backfill_jobs_claim_order and the scan
// stops after $1 of them that are not locked by another claim; running
// jobs are few (those in some worker's hands). Rows locked here but not
// taken are free again at commit.
// clang-format off
#define DUE_COLUMNS(holder_gone)                                               \
  "j.id, j.priority, j.next_attempt_at, j.state AS previous_state,"            \
  " j.locked_by AS previous_owner, " holder_gone " AS holder_gone"
// $7: a one-shot command's own jobs (empty: any).
#define ONLY_LISTED(j)                                                         \
  "(cardinality($7::bigint[]) = 0 OR " j ".id = ANY($7::bigint[]))"
// clang-format on
const prepared_sql claim_sql{"backfilld_claim_jobs", R"sql(
WITH pending AS (
  SELECT )sql" DUE_COLUMNS("false") R"sql(
  FROM backfill_jobs j
  WHERE j.state = 'pending' AND j.next_attempt_at <= now()
    AND )sql" ONLY_LISTED("j") R"sql(
  ORDER BY j.priority, j.next_attempt_at, j.id
  LIMIT $1
  FOR UPDATE OF j SKIP LOCKED
), abandoned AS (
  SELECT )sql" DUE_COLUMNS("j.locked_until >= now()") R"sql(
  FROM backfill_jobs j
  WHERE j.state = 'running' AND )sql" ONLY_LISTED("j") R"sql(
    AND (j.locked_until < now()
         OR (j.locked_by <> $2 AND )sql" HOLDER_GONE("j") R"sql())
  ORDER BY j.priority, j.next_attempt_at, j.id
  LIMIT $1
  FOR UPDATE OF j SKIP LOCKED
), due AS (
  SELECT * FROM (SELECT * FROM pending UNION ALL SELECT * FROM abandoned) d
  ORDER BY d.priority, d.next_attempt_at, d.id
  LIMIT $1
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
RETURNING )sql" CLAIMED_COLUMNS("$5", "$6", "$8") R"sql(,
          due.previous_state, coalesce(due.previous_owner, '') AS previous_owner,
          due.holder_gone
)sql"};

// A claim whose commit went unanswered, read back on a new session.
const char* resolve_sql = R"sql(
UPDATE backfill_jobs j
SET locked_until = now() + $3::float8 * interval '1 millisecond',
    )sql" HOLDER_SET R"sql(,
    updated_at = now()
FROM assets a
WHERE j.claim_token = $1 AND j.state = 'running' AND j.locked_by = $2
  AND a.id = j.asset_id
RETURNING )sql" CLAIMED_COLUMNS("$4", "$5", "$6") R"sql(,
          'pending' AS previous_state, '' AS previous_owner,
          false AS holder_gone
)sql";

// Returns the jobs that are someone else's now. A job already done is not
// among them: that is a mark sent again after its first commit lost its
// answer (a database restart), or, rarely, another worker that finished it
// after our lease ran out; either way its rows are stored. A job gone (its
// asset deleted) is nobody's.
const prepared_sql finish_sql{"backfilld_finish_jobs", R"sql(
WITH marked AS (
  UPDATE backfill_jobs
  SET state = 'done', locked_by = NULL, locked_until = NULL, last_error = NULL,
      no_data_runs = 0, finished_at = now(), updated_at = now()
  WHERE id = ANY($1::bigint[]) AND state = 'running' AND locked_by = $2
  RETURNING id
)
SELECT j.id FROM backfill_jobs j
WHERE j.id = ANY($1::bigint[]) AND j.state <> 'done'
  AND j.id NOT IN (SELECT id FROM marked)
ORDER BY j.id
)sql"};

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

#undef LIVE_STATES
#undef DAY_NUMBER
#undef FIRST_TRANSACTION_DAY
#undef HOLDER_GONE
#undef HOLDER_SET
#undef CLAIMED_COLUMNS
#undef DUE_COLUMNS
#undef ONLY_LISTED
#undef EARLIEST_HOLE
#undef WEEKDAYS_BEFORE

/// The SQL answers with the enumerators' names (see `to_string`).
day_number day_or_none(const pqxx::field& f) {
  return f.is_null() ? no_day : f.as<day_number>();
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
    auto kind = row["kind"].as<std::string>();
    job.kind = kind == to_string(job_kind::extend)    ? job_kind::extend
               : kind == to_string(job_kind::refresh) ? job_kind::refresh
                                                      : job_kind::backfill;
    job.symbol = row["symbol"].as<std::string>();
    job.asset_type = row["asset_type"].as<std::string>();
    job.currency = row["currency"].as<std::string>();
    job.source = row["data_source"].as<std::string>();
    job.attempts = row["attempts"].as<int32_t>();
    job.first_transaction = day_or_none(row["first_transaction"]);
    job.first_price = day_or_none(row["first_price"]);
    job.want_from = day_or_none(row["want_from"]);
    job.last_price = day_or_none(row["last_price"]);
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

/// Where a refresh's search for holes starts: `history.range` ago.
int32_t hole_search_start(const queue_settings& queue) {
  auto today = utc_day(static_cast<int64_t>(std::time(nullptr)));
  return std::max(range_start(queue.history_range, today), -700'000);
}

} // namespace

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
       exec_prepared(txn, exhaust_sql, lease.max_attempts, lease.worker))
    claim_notes.push_back("Gave up on job " + row[0].as<std::string>() +
                          ": claimed " + std::to_string(lease.max_attempts) +
                          " times without an outcome");
  jobs = decode_claimed(
    exec_prepared(txn, claim_sql, limit, lease.worker, millis(lease.duration),
                  token.empty() ? claim_token(lease) : token,
                  hole_search_start(lease), lease.gap_days,
                  array_literal(lease.only_jobs), lease.source_column),
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
    txn.exec_params(resolve_sql, token, lease.worker, millis(lease.duration),
                    hole_search_start(lease), lease.gap_days,
                    lease.source_column),
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

std::vector<job_id> finish_jobs(pqxx::connection_base& conn,
                                const std::vector<job_id>& jobs,
                                const queue_settings& lease) {
  pqxx::work txn{conn};
  std::vector<job_id> lost;
  for (const auto& row :
       exec_prepared(txn, finish_sql, array_literal(jobs), lease.worker))
    lost.push_back(row[0].as<job_id>());
  txn.commit();
  return lost;
}

bool finish_job(pqxx::connection_base& conn, job_id job,
                const queue_settings& lease) {
  return finish_jobs(conn, {job}, lease).empty();
}

bool fail_job(pqxx::connection_base& conn, const job_verdict& verdict,
              const queue_settings& lease, std::string* inactive) {
  pqxx::work txn{conn};
  // The fetcher reports "no data" as `no_data: …` (possibly behind the
  // queue's "gave up after N attempts: ").
  auto no_data = verdict.reason.find(std::string{to_string(ec::no_data)} +
                                     ":") != std::string::npos;
  auto rows = txn.exec_params(fail_sql, verdict.job, lease.worker,
                              verdict.gives_up(), verdict.refund_attempt,
                              static_cast<double>(verdict.delay_ms),
                              verdict.reason, verdict.permanent(), no_data);
  auto held = rows.affected_rows() == 1;
  if (held) {
    // Only refreshes count towards "delisted"; other kinds change nothing
    // there.
    auto note =
      note_refresh_failure(txn, verdict.job, verdict.reason,
                           says_no_data(verdict.reason), lease.delisted_after);
    if (inactive)
      *inactive = std::move(note);
  }
  txn.commit();
  return held;
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

} // namespace backfilld
