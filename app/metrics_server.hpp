// The metrics and health endpoint: /metrics, /healthz and /readyz over HTTP,
// served by cpp-httplib on threads of its own. Its handlers only read the
// process's atomic counters, so a scrape never waits for, or holds up, an
// actor.

#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace backfilld {

class metrics_server {
 public:
  /// Binds `address:port` and starts serving. Null, with `error` set, when
  /// the address cannot be bound (in use, not local, no permission).
  static std::unique_ptr<metrics_server> start(const std::string& address,
                                               int64_t port,
                                               std::string version,
                                               std::string& error);

  /// Stops accepting, finishes the requests in progress and joins.
  ~metrics_server();

  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  struct impl;

 private:
  explicit metrics_server(std::unique_ptr<impl> ptr);

  std::unique_ptr<impl> impl_;
};

/// `backfilld health`: GETs /readyz on the configured endpoint; prints what
/// it said (or why it could not ask) and returns 0 for 200, else 1.
int query_readiness(const std::string& address, int64_t port);

} // namespace backfilld
