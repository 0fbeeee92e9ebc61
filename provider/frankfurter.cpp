#include "provider/frankfurter.hpp"

#include <algorithm>

#include <rapidjson/document.h>

#include "provider/trading_day.hpp"

namespace backfilld {

namespace {

using rapidjson::Value;

/// ECB closures are at most four days in a row (Christmas to New Year over a
/// weekend), so a week always holds a working day.
constexpr day_number min_window_days = 7;

/// Rates are sent for no more than a few decades of working days; anything
/// much larger is not an answer to our request.
constexpr rapidjson::SizeType max_days = 100'000;

bool is_currency(std::string_view code) {
  return code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) {
           return c >= 'A' && c <= 'Z';
         });
}

} // namespace

fault frankfurter_pair(std::string_view symbol, fx_pair& out) {
  auto text = to_upper(symbol);
  auto invalid = [&] {
    return fault{ec::invalid_symbol,
                 "not a currency pair: '" + std::string{symbol} + "'"};
  };
  if (text.size() > 2 && text.compare(text.size() - 2, 2, "=X") == 0) {
    text.resize(text.size() - 2);
    // Yahoo's `JPY=X` is the dollar's price in yen.
    if (text.size() == 3)
      text = "USD" + text;
  }
  if (text.size() == 7 && (text[3] == '/' || text[3] == '-'))
    text.erase(3, 1);
  if (text.size() != 6)
    return invalid();
  fx_pair pair{text.substr(0, 3), text.substr(3)};
  if (!is_currency(pair.base) || !is_currency(pair.quote) ||
      pair.base == pair.quote)
    return invalid();
  out = std::move(pair);
  return {};
}

provider_request frankfurter_request(std::string_view base_url,
                                     const fx_pair& pair, day_number from,
                                     day_number to) {
  from = std::min(from, to - (min_window_days - 1));
  provider_request request;
  request.url = trim_base_url(base_url) + "/v1/" + iso_date(from) + ".." +
                iso_date(to) + "?base=" + percent_encode(pair.base) +
                "&symbols=" + percent_encode(pair.quote);
  return request;
}

fault parse_frankfurter(std::string_view body, price_series& out, int64_t now) {
  rapidjson::Document doc;
  if (!parse_json(body, doc))
    return not_json(doc);
  if (!doc.IsObject())
    return malformed("not a JSON object");
  auto base = member(doc, "base");
  if (base == nullptr || !base->IsString() || !is_currency(base->GetString()))
    return malformed("no base currency");
  auto amount = member(doc, "amount");
  // Rates are per `amount` units of base; we never ask for another amount,
  // and a rate for 100 units must not be stored as one for 1.
  if (amount != nullptr && (!amount->IsNumber() || amount->GetDouble() != 1.0))
    return malformed("rates are not per one unit of the base currency");
  auto rates = member(doc, "rates");
  if (rates == nullptr || !rates->IsObject())
    return malformed("no rates object");
  if (rates->MemberCount() > max_days)
    return malformed("implausibly many days");
  price_series series;
  series.source = "frankfurter";
  // ECB reference rates are set at 14:10 and published around 16:00 CET on
  // TARGET days: Frankfurt's clock, so the after-close refresh comes once
  // the day's rate is out.
  series.exchange_timezone = "Europe/Berlin";
  auto today = now > 0 ? utc_day(now) : no_day;
  for (auto day = rates->MemberBegin(); day != rates->MemberEnd(); ++day) {
    auto key =
      std::string_view{day->name.GetString(), day->name.GetStringLength()};
    auto number = parse_iso_day(key);
    if (number == no_day || key.size() != 10)
      return malformed("rates key is not a date: '" + std::string{key} + "'");
    if (!day->value.IsObject())
      return malformed("rates for " + std::string{key} + " is not an object");
    if (day->value.MemberCount() == 0) {
      ++series.skipped_bars;
      continue;
    }
    if (day->value.MemberCount() > 1)
      return malformed("several quotes on " + std::string{key});
    const auto& entry = *day->value.MemberBegin();
    auto quote =
      std::string{entry.name.GetString(), entry.name.GetStringLength()};
    if (!is_currency(quote))
      return malformed("quote is not a currency code on " + std::string{key});
    if (series.currency.empty())
      series.currency = quote;
    else if (series.currency != quote)
      return malformed("quote changes on " + std::string{key});
    auto rate = entry.value.IsNumber() ? entry.value.GetDouble() : -1.0;
    if (!valid_price(rate)) {
      ++series.skipped_bars;
      continue;
    }
    if (today != no_day && number >= today)
      continue; // Not final yet: the next refresh stores it.
    price_bar bar;
    bar.day = number;
    bar.open = -1;
    bar.high = -1;
    bar.low = -1;
    bar.close = rate;
    bar.adj_close = rate;
    bar.volume = -1;
    series.bars.push_back(bar);
  }
  // JSON objects carry no order promise.
  keep_last_per_day(series.bars);
  series.symbol = std::string{base->GetString()} + "/" + series.currency;
  out = std::move(series);
  return {};
}

fault decode_frankfurter_response(const http_response& response,
                                  price_series& out, int64_t now) {
  switch (response.status) {
  case 200: {
    if (looks_like_html(response))
      return malformed("HTTP 200 with an HTML page instead of JSON");
    if (auto err = parse_frankfurter(response.body, out, now))
      return err;
    return require_bars(out, "rate");
  }
  case 404: {
    // Frankfurter's own answer for an unknown currency (the request always
    // spans a working day, so not a holiday). A proxy's or a moved
    // endpoint's 404 must not fail assets for good.
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag |
              rapidjson::kParseIterativeFlag>(response.body.data(),
                                              response.body.size());
    if (!doc.HasParseError()) {
      auto message = member(doc, "message");
      if (message != nullptr && message->IsString() &&
          std::string_view{message->GetString()} == "not found")
        return {ec::symbol_not_found, "Frankfurter has no rates for the pair"};
    }
    return {ec::provider_unavailable,
            "HTTP 404 without the provider's not-found answer"};
  }
  default:
    return unexpected_status(response.status);
  }
}

} // namespace backfilld
