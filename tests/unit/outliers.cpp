#define CAF_SUITE outliers
#include <caf/test/unit_test.hpp>

#include <string>
#include <vector>

#include "policy/outliers.hpp"

using namespace backfilld;

namespace {

/// A series of daily closes from `first` on, one trading day after another
/// (weekends do not matter to the check).
price_series closes(std::string currency, std::vector<double> xs,
                    day_number first = 20'000) {
  price_series series;
  series.currency = std::move(currency);
  for (size_t i = 0; i < xs.size(); ++i) {
    price_bar bar;
    bar.day = first + static_cast<day_number>(i);
    bar.open = bar.high = bar.low = bar.close = xs[i];
    series.bars.push_back(bar);
  }
  return series;
}

price_event split(day_number day, double numerator, double denominator) {
  price_event e;
  e.day = day;
  e.kind = event_kind::split;
  e.numerator = numerator;
  e.denominator = denominator;
  return e;
}

std::vector<day_number> held_days(const price_series& series) {
  std::vector<day_number> result;
  for (const auto& h : find_outliers(series, outlier_settings{}))
    result.push_back(h.day);
  return result;
}

using days = std::vector<day_number>;

} // namespace

CAF_TEST(an intraday print among closes in pence is held with evidence) {
  auto series = closes("GBp", {5436, 5440, 69.98, 5429, 5451});
  auto found = find_outliers(series, outlier_settings{});
  CAF_REQUIRE_EQUAL(found.size(), 1u);
  CAF_CHECK_EQUAL(found[0].day, 20'002);
  CAF_CHECK_EQUAL(found[0].close, 69.98);
  // 78 times off: a spike, not a pounds-for-pence day.
  CAF_CHECK_EQUAL(found[0].reason, "spike");
  CAF_CHECK_EQUAL(found[0].evidence,
                  "close 69.98 between 5440 on 2024-10-05 and 5429 on "
                  "2024-10-07");
  // Only that bar leaves the series.
  auto stored = series;
  CAF_CHECK_EQUAL(hold_outliers(stored, outlier_settings{}), 1u);
  CAF_CHECK_EQUAL(stored.bars.size(), 4u);
  CAF_REQUIRE_EQUAL(stored.held.size(), 1u);
  CAF_CHECK_EQUAL(stored.held[0].day, 20'002);
}

CAF_TEST(a close equal to the last dividend is held) {
  auto series = closes("USD", {151.20, 150.80, 0.24, 151.50, 152.05});
  price_event dividend;
  dividend.day = 19'990;
  dividend.amount = 0.24;
  series.events.push_back(dividend);
  CAF_CHECK_EQUAL(held_days(series), days({20'002}));
}

CAF_TEST(a day quoted in pounds instead of pence is held) {
  auto inner = closes("GBp", {5436, 5440, 54.38, 5450, 5461});
  auto found = find_outliers(inner, outlier_settings{});
  CAF_REQUIRE_EQUAL(found.size(), 1u);
  CAF_CHECK_EQUAL(found[0].reason, "minor_unit");
  // The minor-unit check holds even where the factor would not.
  outlier_settings lax;
  lax.factor = 500;
  CAF_CHECK_EQUAL(find_outliers(inner, lax).size(), 1u);
  // First and last bar: one neighbour, checked against the one beyond.
  CAF_CHECK_EQUAL(held_days(closes("GBp", {5436, 5440, 5450, 54.52})),
                  days({20'003}));
  CAF_CHECK_EQUAL(held_days(closes("ZAc", {54.36, 5440, 5450, 5461})),
                  days({20'000}));
  CAF_CHECK_EQUAL(held_days(closes("ILA", {1203, 1199, 1210, 12.1})),
                  days({20'003}));
}

CAF_TEST(the first and last bar are held only for a minor-unit mix-up) {
  // A real 4x jump on the last day of a dollar stock is news, not a print.
  CAF_CHECK(held_days(closes("USD", {10.0, 10.2, 10.1, 41.0})).empty());
  // Even 100x, outside the minor units: a reverse split the provider has not
  // announced yet looks like that, and one neighbour cannot tell.
  CAF_CHECK(held_days(closes("USD", {0.05, 0.051, 0.05, 5.02})).empty());
  // A series too short to tell which side is wrong.
  CAF_CHECK(held_days(closes("GBp", {5436, 54.38})).empty());
  // An edge's neighbour that is off its own neighbour proves nothing: only
  // the bad inner bar is held, not the good edges around it.
  CAF_CHECK_EQUAL(held_days(closes("GBp", {5436, 54.4, 5450, 5461})),
                  days({20'001}));
  CAF_CHECK_EQUAL(held_days(closes("GBp", {5436, 54.4, 5450})), days({20'001}));
}

CAF_TEST(the NFLX 10 for 1 split is not a print) {
  // Closes around 2025-11-17 as served before Yahoo adjusted them: a step.
  auto step = closes("USD", {1109.9, 1118.2, 1110.5, 111.3, 112.1});
  CAF_CHECK(held_days(step).empty());
  // The split day alone not yet adjusted, which looks like a spike: the
  // announced split explains it.
  auto glitch = closes("USD", {111.0, 111.8, 1112.5, 112.1, 113.0});
  CAF_CHECK_EQUAL(held_days(glitch), days({20'002}));
  glitch.events.push_back(split(20'002, 10, 1));
  CAF_CHECK(held_days(glitch).empty());
}

CAF_TEST(a 1 for 10 reverse split is not a print) {
  auto step = closes("USD", {0.52, 0.50, 0.51, 5.05, 5.10});
  step.events.push_back(split(20'003, 1, 10));
  CAF_CHECK(held_days(step).empty());
  // The day before the split quoted on the new basis, the split falling on
  // a weekend between the neighbours: still explained.
  auto glitch = closes("USD", {0.52, 0.50, 5.1, 0.51, 0.52});
  glitch.bars[3].day = 20'005;
  glitch.bars[4].day = 20'006;
  CAF_CHECK_EQUAL(held_days(glitch), days({20'002}));
  glitch.events.push_back(split(20'004, 1, 10));
  CAF_CHECK(held_days(glitch).empty());
}

CAF_TEST(a volatile penny stock is not held back) {
  auto penny = closes("USD", {0.0120, 0.0210, 0.0095, 0.0180, 0.0072, 0.0150,
                              0.0110, 0.0330, 0.0130, 0.0125});
  CAF_CHECK(held_days(penny).empty());
  // In pence too, where a ~100x check also runs.
  penny.currency = "GBp";
  CAF_CHECK(held_days(penny).empty());
  // A tighter factor is the operator's call.
  outlier_settings tight;
  tight.factor = 2.0;
  CAF_CHECK(!find_outliers(penny, tight).empty());
}

CAF_TEST(a move that does not come back is not a spike) {
  // Up 10x, then a further 5x: the neighbours disagree with each other.
  CAF_CHECK(held_days(closes("USD", {1.0, 1.1, 11.0, 55.0, 54.0})).empty());
  // Up on one side, down on the other.
  CAF_CHECK(held_days(closes("USD", {1.0, 10.0, 100.0})).empty());
}

CAF_TEST(two bad bars in a row are not caught) {
  // Documented: each has a bad neighbour.
  CAF_CHECK(
    held_days(closes("USD", {150.0, 151.0, 1.5, 1.5, 152.0, 153.0})).empty());
}

CAF_TEST(the check can be turned off) {
  auto series = closes("GBp", {5436, 5440, 69.98, 5429, 5451});
  outlier_settings off;
  off.enabled = false;
  CAF_CHECK_EQUAL(hold_outliers(series, off), 0u);
  CAF_CHECK_EQUAL(series.bars.size(), 5u);
  CAF_CHECK(series.held.empty());
}

CAF_TEST(minor units are the ones Yahoo uses) {
  for (auto unit : {"GBp", "GBX", "ZAc", "ILA"})
    CAF_CHECK(minor_unit_currency(unit));
  for (auto unit : {"GBP", "USD", "ZAR", "ILS", ""})
    CAF_CHECK(!minor_unit_currency(unit));
}
