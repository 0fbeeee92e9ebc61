// libFuzzer target: Tiingo's decoder must refuse garbage with a fault, never
// crash, and only ever return bars and events that hold its promises; the
// ticker mapper must never let a character into a URL that does not belong.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_checks.hpp"
#include "provider/tiingo.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace backfilld;
  using namespace backfilld::fuzz;
  auto text = as_text(data, size);
  std::string ticker;
  if (!tiingo_ticker(text, ticker))
    check_url(tiingo_request("http://h", ticker, 19000, 19400, "k").url);
  for (auto status : {200, 404}) {
    price_series series;
    std::vector<tiingo_event> events;
    if (auto f = decode_tiingo_response(
          answer(status, text, "application/json"), series, 0, &events)) {
      check(!f.detail.empty());
      continue;
    }
    check(status == 200 && !series.bars.empty());
    check(series.source == "tiingo" && series.currency == "USD");
    check_bars(series, check_ohlc_bar);
    for (const auto& event : events) {
      check(event.day != no_day);
      check(event.dividend > 0 || event.split_factor != 1);
      check(std::isfinite(event.dividend) && event.dividend >= 0);
      check(std::isfinite(event.split_factor) && event.split_factor > 0);
    }
  }
  return 0;
}
