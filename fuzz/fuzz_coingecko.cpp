// libFuzzer target: CoinGecko's decoder must refuse garbage with a fault,
// never crash, and only ever return one close-only bar per day; the ticker
// mapper must never let a character into a URL that does not belong there.

#include <cstdint>

#include "fuzz/fuzz_checks.hpp"
#include "provider/coingecko.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace backfilld;
  using namespace backfilld::fuzz;
  auto text = as_text(data, size);
  coin_ref coin;
  if (!coingecko_coin(text, coingecko_default_ids(), coin)) {
    provider_request request;
    check(!coingecko_request("http://h", coin, 19000, 19400, 1'700'000'000, "",
                             request));
    check_url(request.url);
  }
  for (auto status : {200, 404, 401}) {
    price_series series;
    if (auto f = decode_coingecko_response(
          answer(status, text, "application/json; charset=utf-8"), series)) {
      check(!f.detail.empty());
      continue;
    }
    check(status == 200 && !series.bars.empty());
    check(series.source == "coingecko" && series.currency == "USD");
    check_bars(series, [](const price_bar& bar) {
      check_close_only_bar(bar);
      check(bar.volume >= -1);
    });
  }
  return 0;
}
