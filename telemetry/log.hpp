// Log lines that name their actor: "[dedupe] New asset detected (id 12, AMD)".
// spdlog writes them; CAF's own logging is compiled out of Debian's build.

#pragma once

#include <string>

#include <spdlog/spdlog.h>

/// Logs at `level` (info, warn, …) with the actor's state name as a prefix.
#define BF_LOG(level, self, ...)                                               \
  ::spdlog::level("[{}] {}", (self)->state.name, ::fmt::format(__VA_ARGS__))

#define BF_DEBUG(self, ...) BF_LOG(debug, self, __VA_ARGS__)
#define BF_INFO(self, ...) BF_LOG(info, self, __VA_ARGS__)
#define BF_WARN(self, ...) BF_LOG(warn, self, __VA_ARGS__)
#define BF_ERROR(self, ...) BF_LOG(error, self, __VA_ARGS__)
#define BF_CRITICAL(self, ...) BF_LOG(critical, self, __VA_ARGS__)

namespace backfilld {

/// Sends logs to stdout (what `docker logs` shows) at `level`: trace, debug,
/// info, warn, error or critical. `format` "text" writes the readable lines;
/// "json" one JSON object per line (telemetry/json_log.hpp). Returns false
/// for an unknown level or format.
bool setup_logging(const std::string& level,
                   const std::string& format = "text");

/// Puts `[node NAME]` before every text line from now on (the core and
/// fetcher roles, where several processes' logs are read side by side).
void set_log_node_name(const std::string& name);

} // namespace backfilld
