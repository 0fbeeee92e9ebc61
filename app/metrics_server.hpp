// The metrics and health endpoint: /metrics, /healthz and /readyz over HTTP,
// served by cpp-httplib on threads of its own. Its handlers only read the
// process's atomic counters, so a scrape never waits for, or holds up, an
// actor. The queue's gauges come from a sampler thread with a database
// connection of its own, never from a scrape and never from the pipeline's
// connections.

#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace backfilld {

struct db_settings;

class metrics_server {
 public:
  /// Binds `address:port` and starts serving. Null, with `error` set, when
  /// the address cannot be bound (in use, not local, no permission).
  static std::unique_ptr<metrics_server> start(const std::string& address,
                                               int64_t port,
                                               std::string version,
                                               std::string& error);

  /// Counts the queue's jobs in the database now and every `interval`, on a
  /// thread and connection of its own, until destroyed. A failed look
  /// (database away, timeout) leaves the queue gauges absent and reconnects
  /// at the next one; it never logs above debug (the stores say when the
  /// database is away). Call once, after the schema is migrated.
  void sample_queue(const db_settings& db, std::chrono::milliseconds interval);

  /// Stops accepting, finishes the requests in progress and joins.
  ~metrics_server();

  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  struct impl;

 private:
  explicit metrics_server(std::unique_ptr<impl> ptr);

  std::unique_ptr<impl> impl_;
};

/// Copies the fetcher's view of each provider (telemetry/provider_health)
/// into `backfilld_provider_state` now and every `period`, on a thread and
/// connection of its own, so that `backfilld status` (another process) can
/// show breakers, pauses and recent errors. Runs whether or not the metrics
/// endpoint is on. A failed write (database away, no privilege) is logged at
/// debug and tried again at the next period on a fresh connection.
class provider_state_publisher {
 public:
  /// Starts the thread; null (and a warning) when no thread can be had.
  static std::unique_ptr<provider_state_publisher>
  start(const db_settings& db, std::chrono::milliseconds period,
        std::string daemon);

  /// Stops and joins (within one write's bound).
  ~provider_state_publisher();

  provider_state_publisher(const provider_state_publisher&) = delete;
  provider_state_publisher& operator=(const provider_state_publisher&) = delete;

  struct impl;

 private:
  explicit provider_state_publisher(std::unique_ptr<impl> ptr);

  std::unique_ptr<impl> impl_;
};

/// `backfilld health`: GETs /readyz on the configured endpoint; prints what
/// it said (or why it could not ask) and returns 0 for 200, else 1.
int query_readiness(const std::string& address, int64_t port);

} // namespace backfilld
