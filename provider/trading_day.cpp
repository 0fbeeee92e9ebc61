#include "provider/trading_day.hpp"

#include <chrono>
#include <exception>

#include <date/date.h>
#include <date/tz.h>

namespace backfilld {

namespace {

using std::chrono::seconds;

date::sys_seconds to_sys(int64_t unix_seconds) {
  return date::sys_seconds{seconds{unix_seconds}};
}

day_number to_number(date::sys_days day) {
  return static_cast<day_number>(day.time_since_epoch().count());
}

} // namespace

exchange_calendar::exchange_calendar(std::string_view zone_name,
                                     int64_t gmtoffset)
  : offset_(gmtoffset) {
  if (zone_name.empty())
    return;
  try {
    zone_ = date::locate_zone(zone_name);
  } catch (const std::exception&) {
    zone_ = nullptr; // Unknown or missing tzdata: fall back to the offset.
  }
}

day_number exchange_calendar::day_of(int64_t unix_seconds) const {
  if (zone_ != nullptr) {
    auto local = zone_->to_local(to_sys(unix_seconds));
    return to_number(
      date::sys_days{date::floor<date::days>(local).time_since_epoch()});
  }
  return utc_day(unix_seconds + offset_);
}

day_number utc_day(int64_t unix_seconds) {
  return to_number(date::floor<date::days>(to_sys(unix_seconds)));
}

int64_t unix_seconds(day_number day) {
  return static_cast<int64_t>(day) * 86'400;
}

} // namespace backfilld
