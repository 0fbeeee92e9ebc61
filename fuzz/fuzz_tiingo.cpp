// libFuzzer target: Tiingo's decoder must refuse garbage with a fault, never
// crash, and only ever return bars and events that hold its promises; the
// ticker mapper must never let a character into a URL that does not belong.

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "provider/tiingo.hpp"

namespace {

void check(bool condition) {
  if (!condition)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace backfilld;
  std::string_view text{reinterpret_cast<const char*>(data), size};
  std::string ticker;
  if (!tiingo_ticker(text, ticker)) {
    auto request = tiingo_request("http://h", ticker, 19000, 19400, "k");
    for (auto c : request.url)
      check(c > ' ' && c < 0x7f && c != '#');
  }
  for (auto status : {200, 404}) {
    http_response response;
    response.status = status;
    response.content_type = "application/json";
    response.body = std::string{text};
    price_series series;
    std::vector<tiingo_event> events;
    if (auto f = decode_tiingo_response(response, series, 0, &events)) {
      check(!f.detail.empty());
      continue;
    }
    check(status == 200 && !series.bars.empty());
    check(series.source == "tiingo" && series.currency == "USD");
    const price_bar* previous = nullptr;
    for (const auto& bar : series.bars) {
      check(previous == nullptr || previous->day < bar.day);
      for (auto price : {bar.open, bar.high, bar.low, bar.close})
        check(std::isfinite(price) && price > 0);
      check(!bar.has_adj_close() || std::isfinite(bar.adj_close));
      previous = &bar;
    }
    for (const auto& event : events) {
      check(event.day != no_day);
      check(event.dividend > 0 || event.split_factor != 1);
      check(std::isfinite(event.dividend) && event.dividend >= 0);
      check(std::isfinite(event.split_factor) && event.split_factor > 0);
    }
    check(series.skipped_bars >= 0);
  }
  return 0;
}
