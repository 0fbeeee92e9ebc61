#include "policy/outliers.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace backfilld {

namespace {

/// How many times `a` is above `b` (below 1: below it).
double ratio(double a, double b) {
  return a / b;
}

/// More than `factor` apart, in either direction.
bool apart(double r, double factor) {
  return r > factor || r < 1 / factor;
}

/// Within `tolerance` of 100× (in either direction).
bool about_100x(double r, double tolerance) {
  auto up = std::max(r, 1 / r);
  return std::abs(up / 100 - 1) <= tolerance;
}

/// At least about 100× (in either direction).
bool at_least_100x(double r, double tolerance) {
  return std::max(r, 1 / r) >= 100 * (1 - tolerance);
}

/// A close as quoted (float32 precision, which is what Yahoo sends).
std::string quoted(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.7g", x);
  return buf;
}

std::string neighbour(const price_bar& bar) {
  return quoted(bar.close) + " on " + iso_date(bar.day);
}

/// Whether a split lies in (`after`, `until`].
bool split_within(const std::vector<price_event>& events, day_number after,
                  day_number until) {
  return std::any_of(events.begin(), events.end(), [&](const auto& e) {
    return e.kind == event_kind::split && e.day > after && e.day <= until;
  });
}

} // namespace

bool minor_unit_currency(std::string_view currency) {
  for (auto unit : {"GBp", "GBX", "ZAc", "ILA"})
    if (currency == unit)
      return true;
  return false;
}

std::vector<held_bar> find_outliers(const price_series& series,
                                    const outlier_settings& settings) {
  std::vector<held_bar> result;
  const auto& bars = series.bars;
  auto n = bars.size();
  if (n < 3)
    return result;
  auto minor = minor_unit_currency(series.currency);
  auto factor = settings.factor;
  auto tolerance = settings.minor_unit_tolerance;
  auto hold = [&](const price_bar& bar, const char* reason,
                  std::string evidence) {
    result.push_back(held_bar{bar.day, bar.close, reason, std::move(evidence)});
  };
  for (size_t i = 0; i < n; ++i) {
    const auto& bar = bars[i];
    if (i == 0 || i + 1 == n) {
      // One neighbour, checked against the bar beyond it.
      const auto& next = i == 0 ? bars[1] : bars[n - 2];
      const auto& beyond = i == 0 ? bars[2] : bars[n - 3];
      auto r = ratio(bar.close, next.close);
      if (!minor || !at_least_100x(r, tolerance) ||
          apart(ratio(next.close, beyond.close), factor))
        continue;
      auto lo = i == 0 ? bar.day : next.day;
      auto hi = i == 0 ? next.day : bar.day;
      if (split_within(series.events, lo, hi))
        continue;
      hold(bar, "minor_unit",
           "close " + quoted(bar.close) + " on " + series.currency +
             "; neighbour " + neighbour(next));
      continue;
    }
    const auto& prev = bars[i - 1];
    const auto& next = bars[i + 1];
    auto rp = ratio(bar.close, prev.close);
    auto rn = ratio(bar.close, next.close);
    auto same_side = (rp > 1) == (rn > 1);
    auto came_back = !apart(ratio(prev.close, next.close), factor);
    if (!same_side || !came_back)
      continue;
    const char* reason = nullptr;
    if (minor && about_100x(rp, tolerance) && about_100x(rn, tolerance))
      reason = "minor_unit";
    else if (apart(rp, factor) && apart(rn, factor))
      reason = "spike";
    if (reason == nullptr || split_within(series.events, prev.day, next.day))
      continue;
    hold(bar, reason,
         "close " + quoted(bar.close) + " between " + neighbour(prev) +
           " and " + neighbour(next));
  }
  return result;
}

size_t hold_outliers(price_series& series, const outlier_settings& settings) {
  if (!settings.enabled)
    return 0;
  auto found = find_outliers(series, settings);
  if (found.empty())
    return 0;
  auto& bars = series.bars;
  bars.erase(std::remove_if(bars.begin(), bars.end(),
                            [&](const price_bar& bar) {
                              return std::any_of(found.begin(), found.end(),
                                                 [&](const held_bar& h) {
                                                   return h.day == bar.day;
                                                 });
                            }),
             bars.end());
  auto count = found.size();
  series.held.insert(series.held.end(), found.begin(), found.end());
  return count;
}

} // namespace backfilld
