// libFuzzer target: Frankfurter's decoder must refuse garbage with a fault,
// never crash, and only ever return close-only bars that hold its promises;
// the symbol mapper must only ever yield two currency codes.

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "provider/frankfurter.hpp"

namespace {

void check(bool condition) {
  if (!condition)
    std::abort();
}

bool is_code(const std::string& x) {
  if (x.size() != 3)
    return false;
  for (auto c : x)
    if (c < 'A' || c > 'Z')
      return false;
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace backfilld;
  std::string_view text{reinterpret_cast<const char*>(data), size};
  fx_pair pair;
  if (!frankfurter_pair(text, pair))
    check(is_code(pair.base) && is_code(pair.quote) && pair.base != pair.quote);
  for (auto status : {200, 404}) {
    http_response response;
    response.status = status;
    response.content_type = "application/json; charset=utf-8";
    response.body = std::string{text};
    price_series series;
    if (auto f = decode_frankfurter_response(response, series)) {
      check(!f.detail.empty());
      continue;
    }
    check(status == 200 && !series.bars.empty());
    check(is_code(series.currency) && series.source == "frankfurter");
    const price_bar* previous = nullptr;
    for (const auto& bar : series.bars) {
      check(previous == nullptr || previous->day < bar.day);
      check(std::isfinite(bar.close) && bar.close > 0);
      check(bar.adj_close == bar.close);
      check(bar.open < 0 && bar.high < 0 && bar.low < 0 && !bar.has_volume());
      previous = &bar;
    }
    check(series.skipped_bars >= 0);
  }
  return 0;
}
