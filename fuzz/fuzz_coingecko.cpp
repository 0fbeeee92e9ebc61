// libFuzzer target: CoinGecko's decoder must refuse garbage with a fault,
// never crash, and only ever return one close-only bar per day; the ticker
// mapper must never let a character into a URL that does not belong there.

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "provider/coingecko.hpp"

namespace {

void check(bool condition) {
  if (!condition)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace backfilld;
  std::string_view text{reinterpret_cast<const char*>(data), size};
  coin_ref coin;
  if (!coingecko_coin(text, coingecko_default_ids(), coin)) {
    provider_request request;
    check(!coingecko_request("http://h", coin, 19000, 19400, 1'700'000'000, "",
                             request));
    for (auto c : request.url)
      check(c > ' ' && c < 0x7f && c != '#');
  }
  for (auto status : {200, 404, 401}) {
    http_response response;
    response.status = status;
    response.content_type = "application/json; charset=utf-8";
    response.body = std::string{text};
    price_series series;
    if (auto f = decode_coingecko_response(response, series)) {
      check(!f.detail.empty());
      continue;
    }
    check(status == 200 && !series.bars.empty());
    check(series.source == "coingecko" && series.currency == "USD");
    const price_bar* previous = nullptr;
    for (const auto& bar : series.bars) {
      check(previous == nullptr || previous->day < bar.day);
      check(std::isfinite(bar.close) && bar.close > 0);
      check(bar.adj_close == bar.close);
      check(bar.open < 0 && bar.high < 0 && bar.low < 0);
      check(bar.volume >= -1);
      previous = &bar;
    }
    check(series.skipped_bars >= 0);
  }
  return 0;
}
