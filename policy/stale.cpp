#include "policy/stale.hpp"

namespace backfilld {

namespace {

/// 0 for Monday … 6 for Sunday; day 0 (1970-01-01) was a Thursday.
int32_t weekday(day_number day) {
  auto from_monday = (day + 3) % 7;
  return from_monday < 0 ? from_monday + 7 : from_monday;
}

/// Weekdays in [0, n) days after `first`, whatever weekday `first` is.
int32_t weekdays_from(day_number first, int32_t n) {
  auto full_weeks = n / 7;
  auto result = full_weeks * 5;
  auto start = weekday(first);
  for (int32_t i = 0; i < n % 7; ++i)
    if ((start + i) % 7 < 5)
      ++result;
  return result;
}

} // namespace

int32_t missed_weekdays(day_number newest, day_number today) {
  if (newest == no_day || today - newest < 2)
    return 0;
  return weekdays_from(newest + 1, today - newest - 1);
}

bool is_stale(day_number newest, day_number today, int32_t stale_after) {
  if (newest == no_day)
    return false;
  return missed_weekdays(newest, today) >= stale_after;
}

} // namespace backfilld
