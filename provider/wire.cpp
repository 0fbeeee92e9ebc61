#include "provider/wire.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <curl/curl.h>
#include <date/date.h>
#include <rapidjson/error/en.h>

namespace backfilld {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// The number in `text[pos, pos + n)`, or -1 when it holds a non-digit.
int digits_at(std::string_view text, size_t pos, size_t n) {
  int result = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(text[i]))
      return -1;
    result = result * 10 + (text[i] - '0');
  }
  return result;
}

} // namespace

day_number parse_iso_day(std::string_view text) {
  if (text.size() < 10 || text[4] != '-' || text[7] != '-')
    return no_day;
  if (text.size() > 10 && text[10] != 'T')
    return no_day;
  auto y = digits_at(text, 0, 4);
  auto m = digits_at(text, 5, 2);
  auto d = digits_at(text, 8, 2);
  if (y < 0 || m < 0 || d < 0)
    return no_day;
  date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(m)},
                           date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok())
    return no_day;
  return static_cast<day_number>(
    date::sys_days{ymd}.time_since_epoch().count());
}

std::string percent_encode(std::string_view text) {
  // Since curl 7.82 the handle argument is ignored.
  auto encoded =
    curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  if (encoded == nullptr)
    return {};
  std::string result{encoded};
  curl_free(encoded);
  return result;
}

bool looks_like_html(const http_response& response) {
  if (response.content_type.find("html") != std::string::npos)
    return true;
  auto start = response.body.find_first_not_of(" \t\r\n");
  return start != std::string::npos && response.body[start] == '<';
}

bool valid_price(double x) {
  return std::isfinite(x) && x > 0;
}

std::string trim_base_url(std::string_view base_url) {
  std::string url{base_url};
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url;
}

std::string to_upper(std::string_view text) {
  std::string result{text};
  for (auto& c : result)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return result;
}

fault malformed(std::string what) {
  return {ec::malformed_response, std::move(what)};
}

bool parse_json(std::string_view body, rapidjson::Document& doc) {
  constexpr auto flags = rapidjson::kParseNanAndInfFlag |
                         rapidjson::kParseIterativeFlag |
                         rapidjson::kParseValidateEncodingFlag;
  doc.Parse<flags>(body.data(), body.size());
  return !doc.HasParseError();
}

fault not_json(const rapidjson::Document& doc) {
  return malformed(std::string{"not JSON ("} +
                   rapidjson::GetParseError_En(doc.GetParseError()) +
                   " at offset " + std::to_string(doc.GetErrorOffset()) + ")");
}

const rapidjson::Value* member(const rapidjson::Value& object,
                               const char* key) {
  if (!object.IsObject())
    return nullptr;
  auto i = object.FindMember(key);
  return i == object.MemberEnd() ? nullptr : &i->value;
}

std::optional<int64_t> volume_of(const rapidjson::Value& x) {
  if (x.IsInt64() && x.GetInt64() >= 0)
    return x.GetInt64();
  if (x.IsNumber() && x.GetDouble() >= 0 && x.GetDouble() < 9e18)
    return static_cast<int64_t>(x.GetDouble());
  return std::nullopt;
}

void keep_last_per_day(std::vector<price_bar>& bars) {
  std::stable_sort(bars.begin(), bars.end(),
                   [](const auto& x, const auto& y) { return x.day < y.day; });
  std::vector<price_bar> unique;
  unique.reserve(bars.size());
  for (auto& bar : bars) {
    if (!unique.empty() && unique.back().day == bar.day)
      unique.back() = bar;
    else
      unique.push_back(bar);
  }
  bars.swap(unique);
}

fault require_bars(const price_series& series, std::string_view what) {
  if (!series.bars.empty())
    return {};
  if (series.skipped_bars > 0)
    return {ec::no_data, "no usable " + std::string{what} + " among " +
                           std::to_string(series.skipped_bars)};
  return {ec::no_data, "no " + std::string{what} + "s in the window"};
}

fault unexpected_status(int status, const std::string& message) {
  if (status == 429)
    return {ec::rate_limited, "HTTP 429 Too Many Requests"};
  auto text = std::to_string(status);
  auto what = status >= 500 ? "HTTP " + text : "unexpected HTTP " + text;
  if (!message.empty())
    what += ": " + message;
  return {ec::provider_unavailable, std::move(what)};
}

} // namespace backfilld
