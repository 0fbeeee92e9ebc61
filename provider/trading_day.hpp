// Dating daily bars on the exchange's own calendar.
//
// Yahoo stamps a daily bar with the session's opening instant. The trading
// day is that instant's date in the exchange's IANA zone, DST included: a
// Sydney session opens on the previous UTC day, and FX bars stamped at London
// midnight fall at 23:00 UTC in summer. `gmtoffset` is only the offset at
// response time, so it is a fallback for unknown zones, never the rule.

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "messages/types.hpp"

namespace date {
class time_zone;
} // namespace date

namespace backfilld {

/// Converts bar timestamps to trading days for one exchange.
class exchange_calendar {
 public:
  /// Looks up `zone_name` in the system's tz database; when that fails,
  /// dates bars with the fixed `gmtoffset` (seconds east of UTC).
  exchange_calendar(std::string_view zone_name, int64_t gmtoffset);

  /// False when the zone was unknown and the fixed offset is in use.
  bool exact() const {
    return zone_ != nullptr;
  }

  /// The trading day of a bar that opened at `unix_seconds`.
  day_number day_of(int64_t unix_seconds) const;

 private:
  const date::time_zone* zone_ = nullptr;
  int64_t offset_ = 0;
};

/// The UTC day of a Unix time.
day_number utc_day(int64_t unix_seconds);

/// Midnight UTC of a day, in Unix seconds.
int64_t unix_seconds(day_number day);

} // namespace backfilld
