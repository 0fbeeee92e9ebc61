// The metrics endpoint's content: the process's counters in the Prometheus
// text exposition format (0.0.4), and whether the process is ready. Pure
// functions of a `counters`, so that a unit test renders its own instance.

#pragma once

#include <string>
#include <string_view>

#include "telemetry/counters.hpp"

namespace backfilld {

/// `Content-Type` of the exposition format this renders.
constexpr const char* prometheus_content_type =
  "text/plain; version=0.0.4; charset=utf-8";

/// Every metric with its HELP and TYPE lines; `version` becomes
/// `backfilld_build_info{version="…"} 1`.
std::string render_prometheus(const counters& c, std::string_view version);

struct readiness {
  bool ready = false;
  /// "ready", or every reason it is not, separated by "; ".
  std::string reason;
};

/// Ready when the database answers, LISTEN is active and every role runs.
readiness check_readiness(const counters& c);

} // namespace backfilld
