// What the provider decoders' tests share: canned HTTP answers, fixture
// patching and a readable view of the bars a decoder kept.

#pragma once

#include <string>
#include <utility>
#include <vector>

#include <caf/test/unit_test.hpp>

#include "messages/ec.hpp"
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

/// A canned answer and the code its decoder must give for it.
struct classified_answer {
  const char* name;
  http_response response;
  ec expected;
};

/// Decodes every answer with `decode(response, series)`, which returns the
/// fault; fails on the first code that is not the expected one, and hands
/// every accepted series to `check_accepted`.
template <class Decode, class CheckAccepted>
void check_classified(const std::vector<classified_answer>& answers,
                      Decode decode, CheckAccepted check_accepted) {
  for (const auto& r : answers) {
    price_series series;
    fault err = decode(r.response, series);
    if (err.code != r.expected)
      CAF_FAIL(r.name << ": got " << to_string(err.code) << " (" << err.detail
                      << ")");
    if (r.expected == ec::none)
      check_accepted(series);
  }
}

/// Bodies a parser must refuse whole: (what is wrong, body).
using refused_bodies = std::vector<std::pair<std::string, std::string>>;

/// Checks that `parse(body, series)` refuses every body as malformed, and
/// says why.
template <class Parse>
void check_refused(const refused_bodies& bodies, Parse parse) {
  for (const auto& [name, body] : bodies) {
    price_series series;
    fault err = parse(body, series);
    if (err.code != ec::malformed_response)
      CAF_FAIL(name << ": " << to_string(err.code));
    CAF_CHECK(!err.detail.empty());
  }
}

} // namespace backfilld::test
