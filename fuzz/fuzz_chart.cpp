// libFuzzer target: the Yahoo chart parser must refuse garbage with a fault,
// never crash, and only ever return bars that hold its promises.

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "provider/yahoo_chart.hpp"

namespace {

void check(bool condition) {
  if (!condition)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body{reinterpret_cast<const char*>(data), size};
  backfilld::price_series series;
  if (auto f = backfilld::parse_chart(body, series)) {
    check(!f.detail.empty() || f.code == backfilld::ec::symbol_not_found);
    return 0;
  }
  const backfilld::price_bar* previous = nullptr;
  for (const auto& bar : series.bars) {
    // Sorted, one bar per day, every price finite and positive.
    check(previous == nullptr || previous->day < bar.day);
    for (auto price : {bar.open, bar.high, bar.low, bar.close})
      check(std::isfinite(price) && price > 0);
    check(!bar.has_adj_close() || std::isfinite(bar.adj_close));
    previous = &bar;
  }
  check(series.skipped_bars >= 0);
  return 0;
}
