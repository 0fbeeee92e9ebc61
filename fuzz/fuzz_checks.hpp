// What the provider fuzz targets share: the abort that libFuzzer reports as
// a finding, and the promises every decoded series and URL must keep.

#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "messages/types.hpp"

namespace backfilld::fuzz {

/// Aborts, which libFuzzer reports with the input, when a promise is broken.
inline void check(bool condition) {
  if (!condition)
    std::abort();
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// The fuzz input as the body of an answer with `status`.
inline http_response answer(int status, std::string_view body,
                            const char* content_type) {
  http_response response;
  response.status = status;
  response.content_type = content_type;
  response.body = std::string{body};
  return response;
}

/// A mapped symbol must never put a character into a URL that does not
/// belong there.
inline void check_url(const std::string& url) {
  for (auto c : url)
    check(c > ' ' && c < 0x7f && c != '#');
}

/// Sorted, one bar per day; `check_bar` holds each bar to the provider's
/// promises.
template <class Check>
void check_bars(const price_series& series, Check check_bar) {
  const price_bar* previous = nullptr;
  for (const auto& bar : series.bars) {
    check(previous == nullptr || previous->day < bar.day);
    check_bar(bar);
    previous = &bar;
  }
  check(series.skipped_bars >= 0);
}

/// A daily bar with every price finite and positive.
inline void check_ohlc_bar(const price_bar& bar) {
  for (auto price : {bar.open, bar.high, bar.low, bar.close})
    check(std::isfinite(price) && price > 0);
  check(!bar.has_adj_close() || std::isfinite(bar.adj_close));
}

/// A close-only bar (a rate or a daily snapshot): no open, high or low.
inline void check_close_only_bar(const price_bar& bar) {
  check(std::isfinite(bar.close) && bar.close > 0);
  check(bar.adj_close == bar.close);
  check(bar.open < 0 && bar.high < 0 && bar.low < 0);
}

} // namespace backfilld::fuzz
