#define CAF_SUITE yahoo_events
#include <caf/test/unit_test.hpp>

#include <string>

#include "provider/yahoo_chart.hpp"
#include "test_data.hpp"

using namespace backfilld;

namespace {

price_series parse_ok(const std::string& body) {
  price_series series;
  auto f = parse_chart(body, series);
  if (f)
    CAF_FAIL(f.detail);
  return series;
}

std::string fixture(const std::string& name) {
  return test::test_data("yahoo/" + name);
}

/// A minimal chart answer around an `events` object.
std::string with_events(const std::string& events) {
  return R"({"chart":{"result":[{"meta":{"currency":"USD","symbol":"X",)"
         R"("exchangeTimezoneName":"America/New_York","gmtoffset":-14400},)"
         R"("timestamp":[1718026200],"events":)" +
         events +
         R"(,"indicators":{"quote":[{"open":[1.0],"high":[1.0],"low":[1.0],)"
         R"("close":[1.0],"volume":[1]}]}}],"error":null}})";
}

} // namespace

CAF_TEST(a split and a dividend are read and dated like the bars) {
  auto series = parse_ok(fixture("nvda_split.json"));
  CAF_CHECK_EQUAL(series.bars.size(), 5u);
  CAF_REQUIRE_EQUAL(series.events.size(), 2u);
  const auto& split = series.events[0];
  CAF_CHECK_EQUAL(split.kind, event_kind::split);
  CAF_CHECK_EQUAL(iso_date(split.day), "2024-06-10");
  CAF_CHECK_EQUAL(split.numerator, 10.0);
  CAF_CHECK_EQUAL(split.denominator, 1.0);
  CAF_CHECK_EQUAL(split.ratio(), 10.0);
  CAF_CHECK_EQUAL(split.amount, 0.0);
  const auto& dividend = series.events[1];
  CAF_CHECK_EQUAL(dividend.kind, event_kind::dividend);
  CAF_CHECK_EQUAL(iso_date(dividend.day), "2024-06-11");
  CAF_CHECK_EQUAL(dividend.amount, 0.01);
  CAF_CHECK_EQUAL(series.skipped_events, 0);
}

CAF_TEST(broken events are skipped and counted and the rest kept) {
  auto series = parse_ok(fixture("events_defects.json"));
  CAF_CHECK_EQUAL(series.bars.size(), 3u);
  CAF_CHECK_EQUAL(series.skipped_events, 10);
  CAF_REQUIRE_EQUAL(series.events.size(), 2u);
  // 10:00 Sydney is 23:00 UTC the day before: the exchange's day counts.
  CAF_CHECK_EQUAL(iso_date(series.events[0].day), "2024-01-09");
  CAF_CHECK_EQUAL(series.events[0].kind, event_kind::dividend);
  // Two dividends going ex on one day (under different keys) add up.
  CAF_CHECK(std::abs(series.events[0].amount - 0.80) < 1e-9);
  CAF_CHECK_EQUAL(iso_date(series.events[1].day), "2024-01-10");
  CAF_CHECK_EQUAL(series.events[1].kind, event_kind::split);
  CAF_CHECK_EQUAL(series.events[1].ratio(), 0.1);
}

CAF_TEST(events of any shape never refuse the bars) {
  for (
    auto events :
    {R"(null)", R"([])", R"("div")", R"({"dividends":[1,2]})",
     R"({"splits":null,"dividends":{"1":null}})",
     R"({"splits":{"1":{"date":1718026200,"numerator":Infinity,"denominator":1}}})",
     R"({"splits":{"1":{"date":1718026200,"numerator":"10","denominator":"1"}}})",
     R"({"dividends":{"1":{"date":-1e30,"amount":1}}})",
     R"({"dividends":{"1":{"date":99999999999,"amount":1}}})",
     R"({"dividends":{"1":{"date":-3000000000,"amount":1}}})"}) {
    CAF_MESSAGE(events);
    auto series = parse_ok(with_events(events));
    CAF_CHECK_EQUAL(series.bars.size(), 1u);
    CAF_CHECK(series.events.empty());
  }
}

CAF_TEST(dividends that add up beyond any number are skipped) {
  auto series = parse_ok(
    with_events(R"({"dividends":{"a":{"date":1718026200,"amount":1e308},)"
                R"("b":{"date":1718030000,"amount":1e308}}})"));
  CAF_REQUIRE_EQUAL(series.events.size(), 1u);
  CAF_CHECK_EQUAL(series.events[0].amount, 1e308);
  CAF_CHECK_EQUAL(series.skipped_events, 1);
}

CAF_TEST(a split with the later entry on one day wins) {
  auto series = parse_ok(with_events(
    R"({"splits":{"a":{"date":1718026200,"numerator":2,"denominator":1},)"
    R"("b":{"date":1718030000,"numerator":4,"denominator":1}}})"));
  CAF_REQUIRE_EQUAL(series.events.size(), 1u);
  CAF_CHECK_EQUAL(series.events[0].ratio(), 4.0);
}

CAF_TEST(events come with a window without bars) {
  auto series = parse_ok(
    R"({"chart":{"result":[{"meta":{"currency":"USD","symbol":"X",)"
    R"("exchangeTimezoneName":"America/New_York"},"events":{"dividends":)"
    R"({"1718112600":{"amount":0.01,"date":1718112600}}},)"
    R"("indicators":{"quote":[{}]}}],"error":null}})");
  CAF_CHECK(series.bars.empty());
  CAF_REQUIRE_EQUAL(series.events.size(), 1u);
  CAF_CHECK_EQUAL(iso_date(series.events[0].day), "2024-06-11");
}
