#include "policy/schedule.hpp"

#include <exception>

#include <date/date.h>
#include <date/tz.h>

namespace backfilld {

namespace {

using namespace std::chrono_literals;

/// A zone's regular close from a day on (later entries win).
struct close_time {
  std::string_view zone;
  /// First day this close applies (`no_day`: since ever).
  day_number from;
  int32_t minutes;
};

constexpr int32_t hm(int32_t h, int32_t m) {
  return h * 60 + m;
}

// The main exchange of each zone (Yahoo's `exchangeTimezoneName`). Zones
// not listed close at 16:00, the most common close.
// clang-format off
constexpr close_time closes[] = {
  {"America/New_York", no_day, hm(16, 0)},
  {"America/Chicago", no_day, hm(15, 0)},
  {"America/Toronto", no_day, hm(16, 0)},
  {"America/Sao_Paulo", no_day, hm(17, 0)},
  {"Europe/London", no_day, hm(16, 30)},
  {"Europe/Dublin", no_day, hm(16, 30)},
  {"Europe/Berlin", no_day, hm(17, 30)},
  {"Europe/Paris", no_day, hm(17, 30)},
  {"Europe/Amsterdam", no_day, hm(17, 30)},
  {"Europe/Brussels", no_day, hm(17, 30)},
  {"Europe/Madrid", no_day, hm(17, 30)},
  {"Europe/Rome", no_day, hm(17, 30)},
  {"Europe/Zurich", no_day, hm(17, 30)},
  {"Europe/Stockholm", no_day, hm(17, 30)},
  {"Europe/Oslo", no_day, hm(16, 20)},
  {"Europe/Copenhagen", no_day, hm(17, 0)},
  {"Europe/Helsinki", no_day, hm(18, 30)},
  {"Asia/Tokyo", no_day, hm(15, 0)},
  // The Tokyo Stock Exchange trades 30 minutes longer since 2024-11-05.
  {"Asia/Tokyo", 20032, hm(15, 30)},
  {"Asia/Hong_Kong", no_day, hm(16, 0)},
  {"Asia/Shanghai", no_day, hm(15, 0)},
  {"Asia/Singapore", no_day, hm(17, 0)},
  {"Asia/Kolkata", no_day, hm(15, 30)},
  {"Asia/Seoul", no_day, hm(15, 30)},
  {"Australia/Sydney", no_day, hm(16, 0)},
};
// clang-format on

constexpr int32_t default_close = hm(16, 0);

bool around_the_clock(std::string_view zone) {
  return zone == "UTC" || zone == "Etc/UTC" || zone == "GMT" ||
         zone == "Etc/GMT";
}

const date::time_zone* find_zone(std::string_view zone) {
  if (zone.empty())
    return nullptr;
  try {
    return date::locate_zone(zone);
  } catch (const std::exception&) {
    return nullptr;
  }
}

bool weekday(day_number day) {
  date::weekday wd{date::sys_days{date::days{day}}};
  return wd != date::Saturday && wd != date::Sunday;
}

} // namespace

std::optional<int32_t> regular_close(std::string_view zone, day_number day) {
  if (around_the_clock(zone))
    return std::nullopt;
  std::optional<int32_t> result;
  for (const auto& c : closes)
    if (c.zone == zone && c.from <= day)
      result = c.minutes;
  return result ? result : default_close;
}

int64_t next_after_close(std::string_view zone, int64_t now,
                         std::chrono::seconds after_close) {
  auto tz = find_zone(zone);
  if (tz == nullptr || around_the_clock(zone))
    return 0;
  auto local_now = tz->to_local(date::sys_seconds{std::chrono::seconds{now}});
  auto today = static_cast<day_number>(
    date::floor<date::days>(local_now).time_since_epoch().count());
  // The run of today, or of the next weekday that has one after `now`.
  for (auto day = today; day <= today + 7; ++day) {
    if (!weekday(day))
      continue;
    auto close = regular_close(zone, day);
    if (!close)
      return 0;
    auto local = date::local_seconds{date::days{day}} +
                 std::chrono::minutes{*close} + after_close;
    auto due =
      tz->to_sys(local, date::choose::earliest).time_since_epoch().count();
    if (due > now)
      return due;
  }
  return 0;
}

int64_t last_after_close(std::string_view zone, int64_t now,
                         std::chrono::seconds after_close) {
  // A week back holds at least one weekday's run; walk forward to `now`.
  int64_t last = 0;
  for (auto due = next_after_close(zone, now - 8 * 86'400, after_close);
       due != 0 && due <= now; due = next_after_close(zone, due, after_close))
    last = due;
  return last;
}

int64_t next_interval(int64_t now, std::chrono::seconds interval) {
  if (interval.count() <= 0)
    return 0;
  return now + interval.count();
}

day_number weekdays_before(day_number day, int32_t n) {
  while (n > 0) {
    --day;
    if (weekday(day))
      --n;
  }
  return day;
}

} // namespace backfilld
