// `backfilld_provider_state`: the running daemon's snapshot of each
// provider's breaker, pause and recent errors, for `backfilld status`, which
// is another process. Written every few seconds (never per request) by the
// publisher in app/metrics_server; one row per provider, the last writer's.

#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "telemetry/provider_health.hpp"

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace backfilld {

/// One stored row, as `status` reads it.
struct provider_status {
  provider_state state;
  /// Which daemon wrote it (`lease.worker`: host:pid:nonce).
  std::string daemon;
  /// Unix seconds of the write, and how long ago that was by the database's
  /// clock (no skew between the daemon's host and status's).
  int64_t updated_at = 0;
  double age_seconds = 0;
  /// How often the daemon writes: a row older than a few periods is stale.
  int64_t period_ms = 0;

  /// Whether the daemon seems gone: no write for three periods (and at
  /// least 15 s, so a busy database does not make it flap).
  bool stale() const {
    auto bound =
      std::max<double>(3.0 * static_cast<double>(period_ms) / 1000, 15.0);
    return age_seconds > bound;
  }
};

/// Upserts every state in one transaction, stamped `now()` and `daemon`.
void write_provider_states(pqxx::connection_base& conn,
                           const std::vector<provider_state>& states,
                           const std::string& daemon,
                           std::chrono::milliseconds period);

/// Every stored row, by provider name; empty before a daemon ever wrote one.
std::vector<provider_status> read_provider_states(pqxx::connection_base& conn);

} // namespace backfilld
