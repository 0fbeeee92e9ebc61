#define CAF_SUITE stale
#include <caf/test/unit_test.hpp>

#include "policy/stale.hpp"

using namespace backfilld;

namespace {

// 2024-10-07 was a Monday.
constexpr day_number monday = 20'003;

} // namespace

CAF_TEST(missed sessions are the weekdays between newest and today) {
  CAF_CHECK_EQUAL(missed_weekdays(monday, monday), 0);
  CAF_CHECK_EQUAL(missed_weekdays(monday, monday + 1), 0);
  // Tuesday to Thursday are missing on Friday; today may still be open.
  CAF_CHECK_EQUAL(missed_weekdays(monday, monday + 4), 3);
  // Friday's price on Monday misses nothing: the weekend has no session.
  CAF_CHECK_EQUAL(missed_weekdays(monday + 4, monday + 7), 0);
  CAF_CHECK_EQUAL(missed_weekdays(monday + 4, monday + 8), 1);
  // Three weeks and a day.
  CAF_CHECK_EQUAL(missed_weekdays(monday, monday + 22), 15);
  CAF_CHECK_EQUAL(missed_weekdays(monday + 5, monday - 3), 0);
  CAF_CHECK_EQUAL(missed_weekdays(no_day, monday), 0);
}

CAF_TEST(an asset is stale from the given number of missed sessions) {
  CAF_CHECK(!is_stale(monday, monday + 3, 3));
  CAF_CHECK(is_stale(monday, monday + 4, 3));
  CAF_CHECK(!is_stale(monday + 4, monday + 9, 3));
  CAF_CHECK(is_stale(monday + 4, monday + 10, 3));
  CAF_CHECK(!is_stale(no_day, monday, 3));
  CAF_CHECK(is_stale(monday, monday + 2, 1));
}

CAF_TEST(days before 1970 count the same way) {
  // 1969-12-29 was a Monday.
  CAF_CHECK_EQUAL(missed_weekdays(-3, 1), 3);
  CAF_CHECK_EQUAL(missed_weekdays(-3 - 700, 1 - 700), 3);
}
