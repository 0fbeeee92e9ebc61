// What the provider decoders' tests share: canned HTTP answers, fixture
// patching and a readable view of the bars a decoder kept.

#pragma once

#include <string>
#include <utility>
#include <vector>

#include <caf/test/unit_test.hpp>

#include "messages/types.hpp"
#include "provider/trading_day.hpp"

namespace backfilld::test {

/// An HTTP answer as the transport hands it to a decoder.
inline http_response answer(int status, std::string body,
                            std::string content_type = "application/json; "
                                                       "charset=utf-8") {
  http_response response;
  response.status = status;
  response.body = std::move(body);
  response.content_type = std::move(content_type);
  return response;
}

/// Replaces the one occurrence of `from` in `text`, so that a test states
/// only how its answer differs from a recorded fixture.
inline std::string patched(std::string text, const std::string& from,
                           const std::string& to) {
  auto pos = text.find(from);
  CAF_REQUIRE(pos != std::string::npos);
  text.replace(pos, from.size(), to);
  return text;
}

/// A bar as (date, close), for readable failure output.
struct day_close {
  std::string day;
  double close = 0;

  day_close(std::string day, double close)
    : day(std::move(day)),
      close(close) {}

  bool operator==(const day_close& other) const {
    return day == other.day && close == other.close;
  }
};

inline std::string to_string(const day_close& x) {
  return x.day + " " + std::to_string(x.close);
}

inline std::vector<day_close> day_closes(const price_series& series) {
  std::vector<day_close> result;
  for (const auto& bar : series.bars)
    result.emplace_back(iso_date(bar.day), bar.close);
  return result;
}

} // namespace backfilld::test
