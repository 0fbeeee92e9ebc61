// `log.format=json`: one JSON object per log line, for Loki or ELK. Pure
// functions, so that a unit test feeds them hostile messages without spdlog.

#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace backfilld {

/// Splits a line as BF_LOG writes it, "[writer] Backfilled AMD: 251 records",
/// into its logger ("writer") and message ("Backfilled AMD: 251 records").
/// Lines without that prefix come from the process itself: "backfilld".
std::pair<std::string_view, std::string_view>
split_logger(std::string_view line);

/// "2026-12-01T04:32:39.123Z".
std::string iso_utc(std::chrono::system_clock::time_point t);

/// `s` with every byte sequence that is not valid UTF-8 replaced by U+FFFD:
/// a symbol or provider answer quoted in a message must not make the line
/// unparseable.
std::string valid_utf8(std::string_view s);

struct log_record {
  std::chrono::system_clock::time_point time;
  /// spdlog's name of the level: "info", "warning", …
  std::string_view level;
  /// The line as logged, "[role] " prefix included.
  std::string_view line;
  int64_t pid = 0;
  /// The node's host name; left out when empty.
  std::string_view host;
  /// The cluster node's name (`--role=core|fetcher`); left out when empty.
  std::string_view node;
};

/// `{"time":…,"level":…,"logger":…,"message":…,"pid":…,"host":…,"node":…}`
/// without a line break: control characters, quotes and backslashes are
/// escaped, so a message spanning lines still makes one line.
std::string json_log_line(const log_record& r);

} // namespace backfilld
