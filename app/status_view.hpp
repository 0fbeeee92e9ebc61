// `backfilld status` as people and scripts read it: a table of width fit
// for a terminal (long errors cut), or one JSON document with stable keys
// (README, "The operator's CLI"). Pure: the report comes from
// db/operator_queries.

#pragma once

#include <cstdint>
#include <string>

#include "db/operator_queries.hpp"

namespace backfilld {

/// How to judge and date what the report holds.
struct status_view_settings {
  /// UTC day and time of the report (Unix seconds).
  int64_t now = 0;
  /// Trading days (weekdays) without a price after which an asset is
  /// stale (`refresh.stale-after`).
  int32_t stale_after = 3;
};

/// The table, the jobs by kind and state, and (for one asset) its full last
/// error. On a database where nothing is tracked yet it says so, and how
/// work arrives.
std::string status_table(const status_report& report,
                         const status_view_settings& settings);

/// The same as one JSON document (one line, newline-terminated).
std::string status_json(const status_report& report,
                        const status_view_settings& settings);

} // namespace backfilld
