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
  /// `refresh.gap-days`: a run of more missing weekdays than this inside
  /// the stored history (within `history_range`) is a hole that a refresh
  /// fills (`backfill_job::want_from`).
  int32_t gap_days = 3;
  /// `refresh.delisted-after`: days of "no data" answers to refreshes
  /// after which an asset is marked inactive.
  int32_t delisted_after = 10;
  /// When not empty, claims take only these jobs: a one-shot command
  /// (`backfilld backfill`) runs the pipeline for its own jobs alone.
  std::vector<job_id> only_jobs{};
  /// `providers.source-column`: the `assets` column whose value a claimed
  /// job carries as `backfill_job::source`. A column the table lacks (or
  /// an empty name) gives no source: nothing to detect, nothing to fail.
  std::string source_column = "data_source";
};

/// Claims up to `limit` due jobs (pending and due, running with an expired
/// lease, or running in another daemon's hands whose database session is
/// gone) and returns them with what the fetcher needs about their assets.
/// Lower `priority` first (refreshes after backfills and extensions), then
/// by due time.
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

/// Marks the jobs whose leases we still hold done, in one transaction (one
/// round trip for many outcomes). Returns the jobs whose leases had passed
/// to someone else; one already done (a mark sent twice) is not lost.
std::vector<job_id> finish_jobs(pqxx::connection_base& conn,
                                const std::vector<job_id>& jobs,
                                const queue_settings& lease);

/// Applies a failure verdict if we still hold the job's lease and, in the
/// same transaction, counts it towards the asset's refresh state
/// (`note_refresh_failure` with `lease.delisted_after`): a rerun after a
/// broken connection finds the lease gone and could not count it any more.
/// `inactive`, when given, receives the log line of an asset that became
/// inactive (else empty).
bool fail_job(pqxx::connection_base& conn, const job_verdict& verdict,
              const queue_settings& lease, std::string* inactive = nullptr);

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

} // namespace backfilld
