// Process-wide counters, shown in a periodic summary line until a metrics
// endpoint exists. Atomics, so actors on any thread bump them without
// messages; nothing here ever holds a secret.

#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace backfilld {

struct counters {
  // -- listener ---------------------------------------------------------------
  std::atomic<uint64_t> notifications{0};
  std::atomic<uint64_t> notifications_rejected{0};
  std::atomic<uint64_t> listener_reconnects{0};

  // -- queue ------------------------------------------------------------------
  std::atomic<uint64_t> unknown_assets{0};
  std::atomic<uint64_t> jobs_queued{0};
  std::atomic<uint64_t> jobs_done{0};
  std::atomic<uint64_t> jobs_retried{0};
  std::atomic<uint64_t> jobs_failed{0};
  std::atomic<uint64_t> catch_up_queued{0};
  /// Jobs claimed from the table and not yet reported back (a gauge).
  std::atomic<int64_t> jobs_in_memory{0};
  /// The highest `jobs_in_memory` seen since start.
  std::atomic<int64_t> jobs_in_memory_max{0};

  // -- provider ---------------------------------------------------------------
  std::atomic<uint64_t> fetches{0};
  std::atomic<uint64_t> fetch_errors{0};
  std::atomic<uint64_t> throttled{0};
  std::atomic<uint64_t> bars_skipped{0};

  // -- database writes --------------------------------------------------------
  std::atomic<uint64_t> rows_written{0};
  std::atomic<uint64_t> write_errors{0};

  // -- database availability ------------------------------------------------
  /// Connects and calls that failed because the database was unavailable
  /// (each cause is logged once; this counts the rest).
  std::atomic<uint64_t> db_unavailable{0};

  // -- supervision ------------------------------------------------------------
  std::atomic<uint64_t> restarts{0};

  /// Sets the in-memory gauge and keeps its high-water mark.
  void jobs_in_memory_set(int64_t n);

  /// One line, `key=value` pairs, for the periodic log summary.
  std::string summary() const;
};

/// The process's counters.
counters& metrics();

} // namespace backfilld
