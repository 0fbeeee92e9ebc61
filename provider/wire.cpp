#include "provider/wire.hpp"

#include <cmath>

#include <curl/curl.h>
#include <date/date.h>

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

} // namespace backfilld
