// One asset (or a few thousand) now, then exit: `backfilld backfill` and
// `backfilld refresh` queue their jobs in `backfill_jobs` like any other and
// run the production pipeline in-process for those jobs alone (no listener,
// no catch-up), so that a one-shot fetch takes the same path, limits and
// failure handling as the daemon's. The table stays the record: a job that
// another daemon holds is awaited, not fetched twice, and a job left
// unfinished stays queued for the daemon.

#pragma once

#include <string>
#include <vector>

#include "app/config.hpp"
#include "db/operator_queries.hpp"

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace backfilld {

/// What to run.
struct one_shot_work {
  /// "backfill", "refresh": for messages and the progress line.
  std::string command;
  std::vector<asset_ref> assets;
  job_kind kind = job_kind::backfill;
  /// The day a backfill must reach back to (`--range`), or `no_day`.
  day_number want_from = no_day;
};

/// Queues the jobs, runs the pipeline until each is settled (done, failed,
/// or an attempt failed and waits for a retry), shows progress on stderr and
/// the outcome on stdout (failures on stderr). Returns 0 when every job is
/// done, 1 otherwise.
int run_one_shot(config& cfg, pipeline_settings settings,
                 pqxx::connection_base& conn, const one_shot_work& work);

} // namespace backfilld
