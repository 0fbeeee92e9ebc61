// The job queue's SQL: `backfill_jobs` claimed with FOR UPDATE SKIP LOCKED
// under leases, as the PostgreSQL job systems do it (graphile-worker, River,
// Oban). Every function runs its own transaction and throws what libpqxx
// throws; the job store actor turns that into errors.

#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "messages/types.hpp"

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace backfilld {

/// Who holds leases, and for how long.
/// How this process takes part in the queue.
struct queue_settings {
  /// Stored in `locked_by`, unique per process.
  std::string worker;
  /// A claimed job whose lease is not extended for this long is reclaimed.
  std::chrono::milliseconds duration{300'000};
  /// A job of ours that went this long without a heartbeat is in nobody's
  /// hands (its claim's answer was lost): it goes back to the table.
  std::chrono::milliseconds orphan_after{120'000};
  /// Claims after which a job is given up, also when no attempt ever
  /// reported back (its worker died every time).
  int32_t max_attempts = 8;
  /// A job given up on after transient failures (an outage) is queued again
  /// by catch-up after this; permanent failures wait for `backfilld retry`.
  std::chrono::milliseconds revive_after{21'600'000};
  /// `history.range`: an asset whose stored prices do not reach back this
  /// far (or to its first transaction) still needs its backfill.
  std::string history_range = "1y";
  /// Finished jobs are deleted after this (0 = never), except the newest
  /// one of each asset and kind, which remembers what was settled.
  std::chrono::milliseconds prune_after{2'592'000'000};
};

/// Queues a backfill for each asset that needs one, has no live job and no
/// failure that still holds it back (a permanent one, or attempts that ran
/// out less than `revive_after` ago). An asset needs a backfill while it has
/// no prices, or while it has transactions, its prices do not reach back to
/// the earlier of its first transaction and `history_range` ago (with a
/// week's slack) and no backfill of it ever finished. An asset that does not
/// need one gets an extension where a transaction predates the first price by
/// more than a week (once per target day; a failed extension is revived like
/// a backfill). A job row is revived in place rather than added, so the table
/// keeps one row per asset and kind. Reports per asset.
std::vector<enqueue_result> enqueue_jobs(pqxx::connection_base& conn,
                                         const std::vector<asset_id>& assets,
                                         const queue_settings& queue);

/// Claims up to `limit` due jobs (pending and due, running with an expired
/// lease, or running in another daemon's hands whose database session is
/// gone) and returns them with what the fetcher needs about their assets.
/// The claim is tied to this connection's session (`holder_pid`) and named
/// `token` (a fresh one when empty). Jobs taken over, and jobs given up on
/// because they were claimed `max_attempts` times without an outcome, are
/// described in `notes` for the log. Throws `pqxx::in_doubt_error` when the
/// connection broke during COMMIT: the claim may have committed, so do not
/// claim blindly again; read it back with `resolve_claim(token)` on a new
/// session. (Committed rows nobody reads back are orphans: the holder check,
/// the orphan release and the lease hand them back, never twice.)
std::vector<backfill_job> claim_jobs(pqxx::connection_base& conn,
                                     uint32_t limit,
                                     const queue_settings& lease,
                                     std::vector<std::string>& notes,
                                     const std::string& token = {});

/// A name for one claim of this process, unique across processes.
std::string claim_token(const queue_settings& lease);

/// Returns the jobs that the claim named `token` took and that we still hold,
/// re-tied to this session with a fresh lease. For a claim whose commit went
/// unanswered: empty when it never committed.
std::vector<backfill_job> resolve_claim(pqxx::connection_base& conn,
                                        const std::string& token,
                                        const queue_settings& lease);

/// Deletes finished jobs older than `prune_after`, keeping the newest job of
/// each asset and kind. Returns how many went.
int32_t prune_jobs(pqxx::connection_base& conn, const queue_settings& queue);

/// Marks a job done if we still hold its lease.
bool finish_job(pqxx::connection_base& conn, job_id job,
                const queue_settings& lease);

/// Applies a failure verdict if we still hold the job's lease.
bool fail_job(pqxx::connection_base& conn, const job_verdict& verdict,
              const queue_settings& lease);

/// What a heartbeat found.
struct lease_check {
  /// Leases of held jobs that were still ours and are extended now.
  int32_t extended = 0;
  /// Our jobs in nobody's hands (no heartbeat for `orphan_after`), handed
  /// back to the table.
  int32_t orphans_released = 0;
};

/// Extends the leases of the jobs we hold and ties them to this connection's
/// session (after a reconnect it is a new one), and releases our running jobs
/// that are not among them and went without a heartbeat for `orphan_after`
/// (a claim whose answer was lost to a timeout).
lease_check extend_leases(pqxx::connection_base& conn,
                          const std::vector<job_id>& held,
                          const queue_settings& lease);

/// Ties all our running jobs to this connection's session: after a
/// reconnect they name a session that is gone, and other daemons would take
/// them before the next heartbeat. Returns how many.
int32_t retie_jobs(pqxx::connection_base& conn, const queue_settings& lease);

/// Returns jobs to `pending` at once. A job handed back unstarted gets its
/// attempt back; one whose holder died keeps it, so that a job that kills
/// its worker every time runs out of attempts instead of looping.
int32_t release_jobs(pqxx::connection_base& conn, const job_release& release,
                     const queue_settings& lease);

/// Revives failed jobs for one symbol (or all when `symbol` is empty) so they
/// run again with fresh attempts. Returns how many were revived.
int32_t retry_failed(pqxx::connection_base& conn, const std::string& symbol);

/// How many jobs are in each state, for `backfilld status`.
struct job_state_count {
  std::string kind;
  std::string state;
  int64_t jobs = 0;
};
std::vector<job_state_count> count_jobs(pqxx::connection_base& conn);

/// A failed job as `backfilld status` shows it.
struct failed_job {
  asset_id asset = 0;
  std::string symbol;
  std::string kind;
  int32_t attempts = 0;
  std::string last_error;
  std::string finished_at;
};
std::vector<failed_job> list_failed_jobs(pqxx::connection_base& conn,
                                         int limit);

} // namespace backfilld
