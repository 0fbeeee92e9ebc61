#include "provider/tiingo.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <rapidjson/document.h>

#include "provider/trading_day.hpp"

namespace backfilld {

namespace {

using rapidjson::Value;

/// Corrections arrive until 20:00 New York time, which is 00:00 or 01:00
/// UTC the next day.
constexpr int64_t settled_after_midnight_s = 3600;

/// A number member, or NaN for null, absent and anything else.
double number(const Value& object, const char* key) {
  auto x = member(object, key);
  return x != nullptr && x->IsNumber() ? x->GetDouble() : std::nan("");
}

/// Tiingo's error text: {"detail": "…"}.
std::string detail_of(const Value& doc) {
  auto detail = member(doc, "detail");
  return detail != nullptr && detail->IsString() ? detail->GetString()
                                                 : std::string{};
}

bool says_not_found(std::string_view detail) {
  return detail.find("not found") != std::string_view::npos;
}

} // namespace

fault tiingo_ticker(std::string_view symbol, std::string& out) {
  std::string ticker;
  ticker.reserve(symbol.size());
  for (auto c : symbol) {
    auto u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (u == '.' || u == '^' || u == '=')
      return {ec::symbol_not_found,
              "Tiingo has US listings only, not '" + std::string{symbol} + "'"};
    if (!((u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-'))
      return {ec::invalid_symbol,
              "not a stock ticker: '" + std::string{symbol} + "'"};
    ticker += u;
  }
  if (ticker.empty() || ticker.size() > 32 || ticker.front() == '-')
    return {ec::invalid_symbol,
            "not a stock ticker: '" + std::string{symbol} + "'"};
  out = std::move(ticker);
  return {};
}

provider_request tiingo_request(std::string_view base_url,
                                std::string_view ticker, day_number from,
                                day_number to, std::string_view api_key) {
  provider_request request;
  request.url = trim_base_url(base_url) + "/tiingo/daily/" +
                percent_encode(ticker) + "/prices?startDate=" + iso_date(from) +
                "&endDate=" + iso_date(to) + "&format=json&resampleFreq=daily";
  request.headers.emplace_back("Accept", "application/json");
  request.headers.emplace_back("Authorization",
                               "Token " + std::string{api_key});
  return request;
}

fault parse_tiingo(std::string_view body, price_series& out,
                   std::vector<tiingo_event>* events, int64_t now) {
  rapidjson::Document doc;
  if (!parse_json(body, doc))
    return not_json(doc);
  if (doc.IsObject()) {
    auto detail = detail_of(doc);
    if (says_not_found(detail))
      return {ec::symbol_not_found, "Tiingo: " + detail};
    if (!detail.empty())
      return {ec::provider_unavailable, "provider error: " + detail};
  }
  if (!doc.IsArray())
    return malformed("not an array of daily prices");
  price_series series;
  series.source = "tiingo";
  // US listings: the after-close refresh on New York's clock.
  series.exchange_timezone = "America/New_York";
  series.currency = "USD";
  std::vector<tiingo_event> found;
  for (rapidjson::SizeType i = 0; i < doc.Size(); ++i) {
    const auto& row = doc[i];
    if (!row.IsObject())
      return malformed("price " + std::to_string(i) + " is not an object");
    auto date = member(row, "date");
    auto day = date != nullptr && date->IsString()
                 ? parse_iso_day({date->GetString(), date->GetStringLength()})
                 : no_day;
    if (day == no_day)
      return malformed("price " + std::to_string(i) + " has no valid date");
    if (now > 0 && now < unix_seconds(day + 1) + settled_after_midnight_s)
      continue; // Today's, still open to corrections: not history yet.
    auto dividend = number(row, "divCash");
    auto split = number(row, "splitFactor");
    tiingo_event event;
    event.day = day;
    if (std::isfinite(dividend) && dividend > 0)
      event.dividend = dividend;
    if (valid_price(split))
      event.split_factor = split;
    if (event.dividend > 0 || event.split_factor != 1)
      found.push_back(event);
    price_bar bar;
    bar.day = day;
    bar.open = number(row, "open");
    bar.high = number(row, "high");
    bar.low = number(row, "low");
    bar.close = number(row, "close");
    if (!valid_price(bar.open) || !valid_price(bar.high) ||
        !valid_price(bar.low) || !valid_price(bar.close)) {
      ++series.skipped_bars;
      continue;
    }
    if (auto adj = number(row, "adjClose"); valid_price(adj))
      bar.adj_close = adj;
    if (auto volume = member(row, "volume"); volume != nullptr)
      if (auto shares = volume_of(*volume))
        bar.volume = *shares;
    series.bars.push_back(bar);
  }
  // Tiingo sends days in order, but promises none.
  keep_last_per_day(series.bars);
  if (events != nullptr) {
    std::stable_sort(
      found.begin(), found.end(),
      [](const auto& x, const auto& y) { return x.day < y.day; });
    events->insert(events->end(), found.begin(), found.end());
  }
  out = std::move(series);
  return {};
}

fault decode_tiingo_response(const http_response& response, price_series& out,
                             int64_t now, std::vector<tiingo_event>* events) {
  if (response.status == 200) {
    if (looks_like_html(response))
      return malformed("HTTP 200 with an HTML page instead of JSON");
    if (auto err = parse_tiingo(response.body, out, events, now))
      return err;
    return require_bars(out, "bar");
  }
  rapidjson::Document doc;
  std::string detail;
  if (!looks_like_html(response) && parse_json(response.body, doc))
    detail = detail_of(doc);
  // Only Tiingo's own answer is final; a proxy's or a moved endpoint's 404
  // must not fail assets for good.
  if (response.status == 404 && says_not_found(detail))
    return {ec::symbol_not_found, "Tiingo: " + detail};
  // 401/403: a missing or revoked key, the operator's to fix.
  return unexpected_status(response.status, detail);
}

} // namespace backfilld
