// libFuzzer target: Frankfurter's decoder must refuse garbage with a fault,
// never crash, and only ever return close-only bars that hold its promises;
// the symbol mapper must only ever yield two currency codes.

#include <cstdint>
#include <string>

#include "fuzz/fuzz_checks.hpp"
#include "provider/frankfurter.hpp"

namespace {

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
  using namespace backfilld::fuzz;
  auto text = as_text(data, size);
  fx_pair pair;
  if (!frankfurter_pair(text, pair))
    check(is_code(pair.base) && is_code(pair.quote) && pair.base != pair.quote);
  for (auto status : {200, 404}) {
    price_series series;
    if (auto f = decode_frankfurter_response(
          answer(status, text, "application/json; charset=utf-8"), series)) {
      check(!f.detail.empty());
      continue;
    }
    check(status == 200 && !series.bars.empty());
    check(is_code(series.currency) && series.source == "frankfurter");
    check_bars(series, [](const price_bar& bar) {
      check_close_only_bar(bar);
      check(!bar.has_volume());
    });
  }
  return 0;
}
