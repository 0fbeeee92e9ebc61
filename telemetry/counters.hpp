// Process-wide counters, shown in a periodic summary line and on the
// metrics endpoint (telemetry/prometheus.hpp). Atomics, so actors on any
// thread bump them without messages and the HTTP server's threads read them
// without a lock; nothing here ever holds a secret, and nothing grows with
// uptime (every label set is fixed).

#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <string>

#include "messages/types.hpp"
#include "telemetry/histogram.hpp"

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
  std::atomic<uint64_t> outliers_held{0};

  // -- database availability ------------------------------------------------
  /// Connects and calls that failed because the database was unavailable
  /// (each cause is logged once; this counts the rest).
  std::atomic<uint64_t> db_unavailable{0};

  // -- supervision ------------------------------------------------------------
  std::atomic<uint64_t> restarts{0};

  // -- metrics endpoint: labelled counters and latencies ----------------------

  /// Provider answers by status class: [0] no HTTP answer (transport error,
  /// timeout), [1..5] 1xx..5xx; anything else counts as [0].
  std::array<std::atomic<uint64_t>, 6> provider_responses{};
  /// Request to answer (or error) of one provider call.
  histogram<10> fetch_seconds{{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}};
  /// One series written by the writer store, in one transaction.
  histogram<11> write_seconds{
    {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};
  /// Catch-up scans that completed: [0] incremental, [1] full.
  std::array<std::atomic<uint64_t>, 2> catch_up_scans{};
  std::array<histogram<10>, 2> catch_up_seconds{
    histogram<10>{{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300}},
    histogram<10>{{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300}}};
  /// Restarts by role, indexed by the role's value.
  std::array<std::atomic<uint64_t>, std::size(all_roles)> restarts_by_role{};

  // -- readiness (/readyz), fed where the facts are known ---------------------

  /// The last database call of a store (or start-up's migration) reached the
  /// server; a refused connect or a broken connection clears it.
  std::atomic<bool> database_reachable{false};
  /// The listener's LISTEN connection is up.
  std::atomic<bool> listen_active{false};
  /// One bit per role (`1 << role`) that the supervisor has running.
  std::atomic<uint32_t> roles_up{0};

  void provider_response(int32_t status);
  void catch_up_scan(bool full, std::chrono::nanoseconds took);
  void role_up(role r);
  /// `restarted`: the role died and will be restarted (counted by role).
  void role_down(role r, bool restarted);

  /// Sets the in-memory gauge and keeps its high-water mark.
  void jobs_in_memory_set(int64_t n);

  /// One line, `key=value` pairs, for the periodic log summary.
  std::string summary() const;
};

/// The process's counters.
counters& metrics();

} // namespace backfilld
