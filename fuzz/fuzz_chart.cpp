// libFuzzer target: the Yahoo chart parser must refuse garbage with a fault,
// never crash, and only ever return bars that hold its promises.

#include <cstdint>

#include "fuzz/fuzz_checks.hpp"
#include "provider/yahoo_chart.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace backfilld;
  using namespace backfilld::fuzz;
  price_series series;
  if (auto f = parse_chart(as_text(data, size), series)) {
    check(!f.detail.empty() || f.code == ec::symbol_not_found);
    return 0;
  }
  check_bars(series, check_ohlc_bar);
  return 0;
}
