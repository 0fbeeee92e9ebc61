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
#include <string_view>

#include "messages/types.hpp"
#include "telemetry/histogram.hpp"

namespace backfilld {

/// Index of `k` in `all_job_kinds`; `std::size(all_job_kinds)` for a kind
/// missing from that list.
/// The providers whose requests /metrics counts, by name as in
/// `asset_prices.source`: the label set stays fixed.
constexpr const char* metric_providers[] = {"yahoo", "frankfurter", "coingecko",
                                            "tiingo"};

constexpr size_t kind_index(job_kind k) {
  size_t i = 0;
  while (i < std::size(all_job_kinds) && all_job_kinds[i] != k)
    ++i;
  return i;
}

/// Index of `name` in `metric_providers`; its size for any other name.
inline size_t provider_index(std::string_view name) {
  size_t i = 0;
  while (i < std::size(metric_providers) && name != metric_providers[i])
    ++i;
  return i;
}

/// A counter per provider, labelled `provider` on /metrics. A name missing
/// from `metric_providers` is not counted: the label set stays fixed.
class per_provider {
 public:
  void add(std::string_view provider, uint64_t n = 1) {
    if (auto i = provider_index(provider); i < values_.size())
      values_[i].fetch_add(n, std::memory_order_relaxed);
  }

  /// The count of the `i`th provider of `metric_providers`.
  uint64_t at(size_t i) const {
    return values_[i].load(std::memory_order_relaxed);
  }

  uint64_t of(std::string_view provider) const {
    auto i = provider_index(provider);
    return i < values_.size() ? at(i) : 0;
  }

  uint64_t total() const {
    uint64_t sum = 0;
    for (const auto& v : values_)
      sum += v.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  std::array<std::atomic<uint64_t>, std::size(metric_providers)> values_{};
};

/// A counter per job kind, labelled `kind` on /metrics. A kind missing from
/// `all_job_kinds` is not counted: the label set stays the one listed.
class per_kind {
 public:
  void add(job_kind k, uint64_t n = 1) {
    if (auto i = kind_index(k); i < values_.size())
      values_[i].fetch_add(n, std::memory_order_relaxed);
  }

  /// The count of the `i`th kind of `all_job_kinds`.
  uint64_t at(size_t i) const {
    return values_[i].load(std::memory_order_relaxed);
  }

  uint64_t of(job_kind k) const {
    auto i = kind_index(k);
    return i < values_.size() ? at(i) : 0;
  }

  uint64_t total() const {
    uint64_t sum = 0;
    for (const auto& v : values_)
      sum += v.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  std::array<std::atomic<uint64_t>, std::size(all_job_kinds)> values_{};
};

/// What one look at `backfill_jobs` found for one job kind.
struct kind_sample {
  int64_t pending = 0;
  /// Pending jobs whose time has come (not backing off, not scheduled for
  /// later): what a worker should be taking now.
  int64_t due = 0;
  int64_t running = 0;
  int64_t failed = 0;
  /// How long the pending job that has been due the longest has waited for
  /// a worker; zero when none is due.
  double oldest_due_seconds = 0;
};

/// One look at the queue, one entry per kind of `all_job_kinds`.
using queue_sample = std::array<kind_sample, std::size(all_job_kinds)>;

struct counters {
  // -- listener ---------------------------------------------------------------
  std::atomic<uint64_t> notifications{0};
  std::atomic<uint64_t> notifications_rejected{0};
  std::atomic<uint64_t> listener_reconnects{0};

  // -- queue ------------------------------------------------------------------
  std::atomic<uint64_t> unknown_assets{0};
  /// Jobs queued for a notification's asset, and for one a catch-up found.
  per_kind jobs_queued;
  per_kind catch_up_queued;
  per_kind jobs_done;
  per_kind jobs_retried;
  per_kind jobs_failed;
  /// Jobs claimed from the table and not yet reported back (a gauge).
  std::atomic<int64_t> jobs_in_memory{0};
  /// The highest `jobs_in_memory` seen since start.
  std::atomic<int64_t> jobs_in_memory_max{0};

  // -- provider ---------------------------------------------------------------
  std::atomic<uint64_t> fetches{0};
  std::atomic<uint64_t> fetch_errors{0};
  /// 429s that paused a provider, by provider.
  per_provider throttled;
  std::atomic<uint64_t> bars_skipped{0};
  /// Jobs failed because their asset's row names no provider we know
  /// (`providers.source-column`).
  std::atomic<uint64_t> unknown_sources{0};

  // -- rate limiter -----------------------------------------------------------
  /// Grants that had to wait for a token (or for a 429's pause to end), by
  /// provider.
  per_provider limiter_waits;
  /// Waiting requests dropped because their asker had stopped waiting.
  std::atomic<uint64_t> limiter_expired{0};
  /// How long granted requests waited, by provider (`metric_providers`);
  /// immediate grants are not observed.
  std::array<histogram<11>, std::size(metric_providers)> limiter_wait_seconds{
    histogram<11>{{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}},
    histogram<11>{{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}},
    histogram<11>{{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}},
    histogram<11>{{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}}};
  /// Observes one wait of `provider` (other names are not observed).
  void limiter_waited(std::string_view provider,
                      std::chrono::nanoseconds waited) {
    if (auto i = provider_index(provider); i < limiter_wait_seconds.size())
      limiter_wait_seconds[i].observe(waited);
  }

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

  // -- fetcher nodes (core role) ---------------------------------------------
  /// Fetcher nodes connected now (a gauge).
  std::atomic<int64_t> cluster_nodes{0};
  /// Jobs handed back to the queue because the node holding them was lost.
  std::atomic<int64_t> cluster_jobs_handed_back{0};
  /// TLS handshakes the core refused (a plain node, another CA's
  /// certificate, a port scan).
  std::atomic<uint64_t> cluster_handshakes_refused{0};

  // -- metrics endpoint: labelled counters and latencies ----------------------

  /// Provider answers by provider (`metric_providers`) and status class:
  /// [0] no HTTP answer (transport error, timeout), [1..5] 1xx..5xx; anything
  /// else counts as [0].
  std::array<std::array<std::atomic<uint64_t>, 6>, std::size(metric_providers)>
    provider_responses{};
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

  // -- the queue as the database shows it (the metrics endpoint samples it) ---

  /// Stored by `set_queue_sample`; read only while `queue_sampled` is set.
  std::array<std::atomic<int64_t>, std::size(all_job_kinds)> jobs_pending{};
  std::array<std::atomic<int64_t>, std::size(all_job_kinds)> jobs_due{};
  std::array<std::atomic<int64_t>, std::size(all_job_kinds)> jobs_running{};
  std::array<std::atomic<int64_t>, std::size(all_job_kinds)> jobs_failed_now{};
  std::array<std::atomic<double>, std::size(all_job_kinds)> oldest_due{};
  /// The last look at the table succeeded. When one fails the gauges above
  /// are left out of /metrics: a stale backlog shown as current would hide
  /// or fake progress, and an absent series is what Prometheus expects.
  std::atomic<bool> queue_sampled{false};
  /// Unix time of the last successful look; 0 before the first.
  std::atomic<double> queue_sampled_at{0};
  /// Looks that failed (the database away, a timeout).
  std::atomic<uint64_t> queue_sample_errors{0};

  void set_queue_sample(const queue_sample& sample, double unix_now);
  /// A look failed: the gauges are absent until the next one succeeds.
  void queue_sample_failed();

  // -- readiness (/readyz), fed where the facts are known ---------------------

  /// The last database call of a store (or start-up's migration) reached the
  /// server; a refused connect or a broken connection clears it.
  std::atomic<bool> database_reachable{false};
  /// The listener's LISTEN connection is up.
  std::atomic<bool> listen_active{false};
  /// One bit per role (`1 << role`) that the supervisor has running.
  std::atomic<uint32_t> roles_up{0};

  /// Counts one answer of `provider` (unknown names are not counted).
  void provider_response(std::string_view provider, int32_t status);
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
