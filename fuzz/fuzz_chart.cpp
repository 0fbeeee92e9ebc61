// libFuzzer target: the Yahoo chart parser must refuse garbage with a fault,
// never crash, and only ever return bars that hold its promises.

#include <cmath>
#include <cstdint>

#include "fuzz/fuzz_checks.hpp"
#include "policy/outliers.hpp"
#include "provider/yahoo_chart.hpp"

namespace {

using namespace backfilld;

/// Events are what the store may write: dated sanely, positive and finite,
/// sorted and one per day and kind (the table's key).
void check_events(const price_series& series) {
  const price_event* previous = nullptr;
  for (const auto& e : series.events) {
    // 1900-01-01 to 2199-12-31: PostgreSQL stores every one of them.
    fuzz::check(e.day >= -25'567 && e.day <= 84'005);
    if (e.kind == event_kind::dividend) {
      fuzz::check(std::isfinite(e.amount) && e.amount > 0);
    } else {
      fuzz::check(std::isfinite(e.numerator) && e.numerator > 0);
      fuzz::check(std::isfinite(e.denominator) && e.denominator > 0);
      fuzz::check(std::isfinite(e.ratio()) && e.ratio() > 0);
    }
    if (previous != nullptr)
      fuzz::check(previous->day < e.day ||
                  (previous->day == e.day && previous->kind < e.kind));
    previous = &e;
  }
  fuzz::check(series.skipped_events >= 0);
}

/// The outlier check only ever takes bars out, each one once.
void check_outliers(price_series series) {
  auto before = series.bars.size();
  auto held = hold_outliers(series, outlier_settings{});
  fuzz::check(held == series.held.size());
  fuzz::check(series.bars.size() + held == before);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace backfilld;
  using namespace backfilld::fuzz;
  price_series series;
  if (auto f = parse_chart(as_text(data, size), series)) {
    check(!f.detail.empty() || f.code == ec::symbol_not_found);
    return 0;
  }
  check_bars(series, check_ohlc_bar);
  check_events(series);
  check_outliers(series);
  return 0;
}
