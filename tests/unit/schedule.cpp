#define CAF_SUITE schedule
#include <caf/test/unit_test.hpp>

#include <date/date.h>

#include "policy/schedule.hpp"
#include "provider/trading_day.hpp"
#include "provider/yahoo_chart.hpp"

using namespace backfilld;
using namespace std::chrono_literals;

namespace {

/// Unix seconds of a UTC wall time, for readable expectations.
int64_t utc(int y, unsigned mo, unsigned d, int h, int mi) {
  auto day = date::sys_days{date::year{y} / mo / d};
  date::sys_seconds t = day + std::chrono::hours{h} + std::chrono::minutes{mi};
  return t.time_since_epoch().count();
}

day_number day_of(int y, unsigned mo, unsigned d) {
  return static_cast<day_number>(
    date::sys_days{date::year{y} / mo / d}.time_since_epoch().count());
}

/// The next after-close run, as UTC "YYYY-MM-DD HH:MM".
std::string next_run(const char* zone, int64_t now) {
  auto t = next_after_close(zone, now, 30min);
  if (t == 0)
    return "never";
  return date::format("%F %R", date::sys_seconds{std::chrono::seconds{t}});
}

} // namespace

CAF_TEST(the interval counts from the last run and zero turns it off) {
  CAF_CHECK_EQUAL(next_interval(1'000, 6h), 1'000 + 6 * 3600);
  CAF_CHECK_EQUAL(next_interval(1'000, 0s), 0);
}

CAF_TEST(the last after close run is the one before now) {
  // Saturday 2024-03-09 12:00 UTC: New York's last was Friday 21:30 UTC,
  // London's Friday 17:00 UTC; UTC has none.
  auto saturday = utc(2024, 3, 9, 12, 0);
  CAF_CHECK_EQUAL(last_after_close("America/New_York", saturday, 30min),
                  utc(2024, 3, 8, 21, 30));
  CAF_CHECK_EQUAL(last_after_close("Europe/London", saturday, 30min),
                  utc(2024, 3, 8, 17, 0));
  CAF_CHECK_EQUAL(last_after_close("UTC", saturday, 30min), 0);
  // Exactly at a run: that one. Monday morning: still Friday's.
  CAF_CHECK_EQUAL(
    last_after_close("Europe/London", utc(2024, 3, 8, 17, 0), 30min),
    utc(2024, 3, 8, 17, 0));
  CAF_CHECK_EQUAL(
    last_after_close("America/New_York", utc(2024, 3, 11, 9, 0), 30min),
    utc(2024, 3, 8, 21, 30));
}

CAF_TEST(closes by zone with a default and none for utc) {
  auto today = day_of(2026, 12, 1);
  CAF_CHECK_EQUAL(regular_close("America/New_York", today), 16 * 60);
  CAF_CHECK_EQUAL(regular_close("Europe/London", today), 16 * 60 + 30);
  CAF_CHECK_EQUAL(regular_close("Europe/Berlin", today), 17 * 60 + 30);
  CAF_CHECK_EQUAL(regular_close("Australia/Sydney", today), 16 * 60);
  CAF_CHECK_EQUAL(regular_close("America/Nowhere", today), 16 * 60);
  CAF_CHECK(!regular_close("UTC", today));
  // Tokyo trades until 15:30 since 2024-11-05.
  CAF_CHECK_EQUAL(regular_close("Asia/Tokyo", day_of(2024, 11, 1)), 15 * 60);
  CAF_CHECK_EQUAL(regular_close("Asia/Tokyo", day_of(2024, 11, 5)),
                  15 * 60 + 30);
}

CAF_TEST(new york after close across the march dst change) {
  // Friday 2024-03-08, EST (UTC-5): 16:30 local is 21:30 UTC.
  CAF_CHECK_EQUAL(next_run("America/New_York", utc(2024, 3, 8, 12, 0)),
                  "2024-03-08 21:30");
  // After Friday's run comes Monday's, after the switch to EDT (UTC-4).
  CAF_CHECK_EQUAL(next_run("America/New_York", utc(2024, 3, 8, 21, 30)),
                  "2024-03-11 20:30");
}

CAF_TEST(london after close across the late march dst change) {
  // Friday 2024-03-29, GMT: 17:00 local is 17:00 UTC; BST from the 31st.
  CAF_CHECK_EQUAL(next_run("Europe/London", utc(2024, 3, 29, 16, 0)),
                  "2024-03-29 17:00");
  CAF_CHECK_EQUAL(next_run("Europe/London", utc(2024, 3, 29, 17, 1)),
                  "2024-04-01 16:00");
}

CAF_TEST(sydney after close across the april dst end) {
  // Friday 2024-04-05, AEDT (UTC+11): 16:30 local is 05:30 UTC.
  CAF_CHECK_EQUAL(next_run("Australia/Sydney", utc(2024, 4, 4, 22, 0)),
                  "2024-04-05 05:30");
  // Monday 2024-04-08, AEST (UTC+10) since the 7th: 06:30 UTC.
  CAF_CHECK_EQUAL(next_run("Australia/Sydney", utc(2024, 4, 5, 6, 0)),
                  "2024-04-08 06:30");
}

CAF_TEST(zones without a close or unknown to the tz database never run) {
  CAF_CHECK_EQUAL(next_run("UTC", utc(2024, 4, 4, 22, 0)), "never");
  CAF_CHECK_EQUAL(next_run("Mars/Olympus", utc(2024, 4, 4, 22, 0)), "never");
  CAF_CHECK_EQUAL(next_run("", utc(2024, 4, 4, 22, 0)), "never");
}

CAF_TEST(weekdays before skip weekends) {
  auto monday = day_of(2024, 3, 11);
  CAF_CHECK_EQUAL(iso_date(weekdays_before(monday, 1)), "2024-03-08");
  CAF_CHECK_EQUAL(iso_date(weekdays_before(monday, 5)), "2024-03-04");
  CAF_CHECK_EQUAL(weekdays_before(monday, 0), monday);
}

CAF_TEST(a refresh asks from the overlap or the earliest hole up to now) {
  auto now = utc(2024, 3, 13, 22, 0);
  backfill_job job;
  job.kind = job_kind::refresh;
  job.first_price = day_of(2023, 3, 13);
  job.last_price = day_of(2024, 3, 11);
  auto w = window_for(job, "1y", now, 5);
  CAF_CHECK(w.range.empty());
  CAF_CHECK_EQUAL(iso_date(utc_day(w.period1)), "2024-03-04");
  CAF_CHECK_EQUAL(w.period2, now);
  // A hole after 2024-02-01 starts the window there.
  job.want_from = day_of(2024, 2, 1);
  w = window_for(job, "1y", now, 5);
  CAF_CHECK_EQUAL(iso_date(utc_day(w.period1)), "2024-02-01");
  // A rewrite asks for the whole stored history, with the margin an
  // extension has: Sydney's bars are stamped on the previous UTC day, so
  // from the first stored day's 00:00 UTC its bar would be missing.
  job.rewrite_reason = "close of 2024-03-11: stored 200, served 100";
  w = window_for(job, "1y", now, 5);
  CAF_CHECK_EQUAL(iso_date(utc_day(w.period1)), "2023-03-06");
  CAF_CHECK_EQUAL(w.period2, now);
  // An extension's rewrite (moved here from the fetcher) asks up to today.
  backfill_job extension;
  extension.kind = job_kind::extend;
  extension.want_from = day_of(2023, 1, 9);
  extension.first_price = day_of(2023, 3, 13);
  CAF_CHECK_EQUAL(iso_date(utc_day(window_for(extension, "1y", now).period2)),
                  "2023-03-14");
  extension.rewrite_reason = "close of 2023-03-13: stored 200, served 100";
  CAF_CHECK_EQUAL(iso_date(utc_day(window_for(extension, "1y", now).period2)),
                  "2024-03-14");
  // Without stored prices it is a backfill's window.
  job = backfill_job{};
  job.kind = job_kind::refresh;
  CAF_CHECK_EQUAL(window_for(job, "1y", now, 5).range, "1y");
}
