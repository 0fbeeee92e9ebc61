#define CAF_SUITE trading_day
#include <caf/test/unit_test.hpp>

#include <date/date.h>

#include "provider/trading_day.hpp"

using namespace backfilld;

namespace {

/// Unix seconds of a UTC wall time, for readable expectations.
int64_t utc(int y, unsigned mo, unsigned d, int h, int mi) {
  auto day = date::sys_days{date::year{y} / mo / d};
  date::sys_seconds t = day + std::chrono::hours{h} + std::chrono::minutes{mi};
  return t.time_since_epoch().count();
}

std::string day(const exchange_calendar& cal, int64_t t) {
  return iso_date(cal.day_of(t));
}

} // namespace

CAF_TEST(new york sessions keep their date across DST) {
  exchange_calendar ny{"America/New_York", -14400};
  CAF_REQUIRE(ny.exact());
  CAF_CHECK_EQUAL(day(ny, utc(2024, 3, 8, 14, 30)), "2024-03-08");
  CAF_CHECK_EQUAL(day(ny, utc(2024, 3, 11, 13, 30)), "2024-03-11");
}

CAF_TEST(a sydney session opens on the previous utc day) {
  exchange_calendar sydney{"Australia/Sydney", 39600};
  CAF_CHECK_EQUAL(day(sydney, utc(2024, 3, 4, 23, 0)), "2024-03-05");
}

CAF_TEST(fx bars at london midnight keep their day in summer and winter) {
  // gmtoffset says summer (3600); applied to a winter bar it would be right,
  // but applied to a summer bar from a winter response it would not: only
  // the zone gets both.
  exchange_calendar london{"Europe/London", 0};
  CAF_CHECK_EQUAL(day(london, utc(2024, 3, 28, 0, 0)), "2024-03-28");
  CAF_CHECK_EQUAL(day(london, utc(2024, 3, 31, 23, 0)), "2024-04-01");
  exchange_calendar offset_only{"", 0};
  CAF_CHECK(!offset_only.exact());
  CAF_CHECK_EQUAL(day(offset_only, utc(2024, 3, 31, 23, 0)), "2024-03-31");
}

CAF_TEST(unknown zones fall back to the offset) {
  exchange_calendar odd{"Mars/Olympus_Mons", 3600};
  CAF_CHECK(!odd.exact());
  CAF_CHECK_EQUAL(day(odd, utc(2024, 1, 1, 23, 30)), "2024-01-02");
}

CAF_TEST(day numbers round trip) {
  CAF_CHECK_EQUAL(utc_day(0), 0);
  CAF_CHECK_EQUAL(iso_date(utc_day(utc(2024, 2, 29, 12, 0))), "2024-02-29");
  CAF_CHECK_EQUAL(unix_seconds(utc_day(utc(2024, 2, 29, 12, 0))),
                  utc(2024, 2, 29, 0, 0));
  CAF_CHECK_EQUAL(iso_date(no_day), "none");
}

CAF_TEST(iso dates read as date format writes them) {
  // From the oldest day a "max" history asks for to far in the future,
  // and the years that are not four digits long.
  for (day_number d = -720'000; d <= 800'000; d += 997)
    CAF_CHECK_EQUAL(iso_date(d),
                    date::format("%F", date::sys_days{date::days{d}}));
  for (day_number d : {-719'529, -719'528, 0, 2'932'896, 2'932'897})
    CAF_CHECK_EQUAL(iso_date(d),
                    date::format("%F", date::sys_days{date::days{d}}));
  CAF_CHECK_EQUAL(iso_date(19'782), "2024-02-29");
}
