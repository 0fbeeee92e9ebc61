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
struct lease_settings {
  /// Stored in `locked_by`, unique per process.
  std::string worker;
  /// A claimed job whose lease is not extended for this long is reclaimed.
  std::chrono::milliseconds duration{300'000};
};

/// Queues a backfill for each asset that has no prices, no live job and no
/// permanent failure, and an extension where a transaction predates the first
/// price by more than a week (once per target day). Reports per asset.
std::vector<enqueue_result> enqueue_jobs(pqxx::connection_base& conn,
                                         const std::vector<asset_id>& assets);

/// Claims up to `limit` due jobs (pending and due, or running with an expired
/// lease) and returns them with what the fetcher needs about their assets.
/// Jobs taken over from an expired lease are described in `reclaimed`.
std::vector<backfill_job> claim_jobs(pqxx::connection_base& conn,
                                     uint32_t limit,
                                     const lease_settings& lease,
                                     std::vector<std::string>& reclaimed);

/// Marks a job done if we still hold its lease.
bool finish_job(pqxx::connection_base& conn, job_id job,
                const lease_settings& lease);

/// Applies a failure verdict if we still hold the job's lease.
bool fail_job(pqxx::connection_base& conn, const job_verdict& verdict,
              const lease_settings& lease);

/// Extends the leases of jobs we hold; returns how many were still ours.
int32_t extend_leases(pqxx::connection_base& conn,
                      const std::vector<job_id>& jobs,
                      const lease_settings& lease);

/// Returns jobs to `pending` at once, giving back the attempt.
int32_t release_jobs(pqxx::connection_base& conn,
                     const std::vector<job_id>& jobs,
                     const lease_settings& lease);

/// Every asset that has transactions: the candidates of a catch-up scan,
/// which runs them through `enqueue_jobs` like any notification.
std::vector<asset_id> assets_with_transactions(pqxx::connection_base& conn);

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

/// Formats integers as a PostgreSQL array literal, e.g. "{1,2,3}"
/// (libpqxx 6 has no array conversion for parameters).
template <class Integer>
std::string array_literal(const std::vector<Integer>& xs) {
  std::string result = "{";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      result += ',';
    result += std::to_string(xs[i]);
  }
  result += '}';
  return result;
}

} // namespace backfilld
