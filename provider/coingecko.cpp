#include "provider/coingecko.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <rapidjson/document.h>

#include "provider/trading_day.hpp"

namespace backfilld {

namespace {

using rapidjson::Value;

/// The free plans' history, less a day of slack for clocks that disagree.
constexpr day_number history_days = 364;

/// Windows above 90 days get daily snapshots; a little more for rounding.
constexpr day_number daily_granularity_days = 92;

/// A midnight snapshot may be stamped a little after 00:00 UTC; it still
/// closes the day before.
constexpr int64_t midnight_slack_ms = 10 * 60 * 1000;

constexpr int64_t ms_per_day = 86'400'000;

/// Beyond the year 9999: not a timestamp.
constexpr double max_ms = 253'402'300'800'000.0;

std::string lower(std::string_view text) {
  std::string result{text};
  for (auto& c : result)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

bool valid_coin_id(std::string_view id) {
  return !id.empty() && id.size() <= 100 &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
         });
}

bool valid_ticker(std::string_view ticker) {
  return !ticker.empty() && ticker.size() <= 32 &&
         std::all_of(ticker.begin(), ticker.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_';
         });
}

/// The UTC day a snapshot closes: its own, unless taken at midnight.
day_number close_day(int64_t ms) {
  auto into_day = ms % ms_per_day;
  auto day = utc_day(ms / 1000);
  return into_day < midnight_slack_ms ? day - 1 : day;
}

/// CoinGecko's message from any of its error shapes:
/// {"error":"coin not found"}, {"status":{"error_message":…}} (429) and
/// {"error":{"status":{"error_message":…}}} (401, plan limits).
std::string error_message(const Value& doc) {
  const Value* status = member(doc, "status");
  if (auto error = member(doc, "error")) {
    if (error->IsString())
      return error->GetString();
    status = member(*error, "status");
  }
  if (status != nullptr)
    if (auto message = member(*status, "error_message");
        message != nullptr && message->IsString())
      return message->GetString();
  return {};
}

/// A point [ms, value]: its time, or -1 when it is not a point.
int64_t point_time(const Value& point) {
  if (!point.IsArray() || point.Size() != 2 || !point[0].IsNumber())
    return -1;
  auto ms = point[0].GetDouble();
  if (!(ms >= 0 && ms < max_ms))
    return -1;
  return static_cast<int64_t>(ms);
}

struct snapshot {
  int64_t ms = 0;
  price_bar bar;
};

} // namespace

const coin_id_table& coingecko_default_ids() {
  static const coin_id_table table{
    {"ADA", "cardano"},      {"ATOM", "cosmos"},
    {"AVAX", "avalanche-2"}, {"BCH", "bitcoin-cash"},
    {"BNB", "binancecoin"},  {"BTC", "bitcoin"},
    {"DAI", "dai"},          {"DOGE", "dogecoin"},
    {"DOT", "polkadot"},     {"ETC", "ethereum-classic"},
    {"ETH", "ethereum"},     {"LINK", "chainlink"},
    {"LTC", "litecoin"},     {"MATIC", "matic-network"},
    {"SHIB", "shiba-inu"},   {"SOL", "solana"},
    {"TRX", "tron"},         {"UNI", "uniswap"},
    {"USDC", "usd-coin"},    {"USDT", "tether"},
    {"XLM", "stellar"},      {"XMR", "monero"},
    {"XRP", "ripple"},
  };
  return table;
}

fault coingecko_ids(const coin_id_table& extra, coin_id_table& out) {
  auto table = coingecko_default_ids();
  for (const auto& [ticker, id] : extra) {
    auto key = to_upper(ticker);
    if (!valid_ticker(key))
      return {ec::invalid_config, "not a ticker: '" + ticker + "'"};
    if (!valid_coin_id(id))
      return {ec::invalid_config,
              "not a CoinGecko coin id for " + key + ": '" + id + "'"};
    table[key] = id;
  }
  out = std::move(table);
  return {};
}

fault coingecko_coin(std::string_view symbol, const coin_id_table& table,
                     coin_ref& out) {
  auto ticker = to_upper(symbol);
  std::string vs = "usd";
  // Yahoo's "BTC-EUR": the coin in another currency.
  if (auto dash = ticker.rfind('-'); dash != std::string::npos) {
    auto quote = ticker.substr(dash + 1);
    if (quote.size() != 3 ||
        !std::all_of(quote.begin(), quote.end(),
                     [](char c) { return c >= 'A' && c <= 'Z'; }))
      return {ec::invalid_symbol,
              "not a crypto symbol: '" + std::string{symbol} + "'"};
    vs = lower(quote);
    ticker.resize(dash);
  }
  if (!valid_ticker(ticker))
    return {ec::invalid_symbol,
            "not a crypto symbol: '" + std::string{symbol} + "'"};
  auto i = table.find(ticker);
  if (i == table.end())
    return {ec::symbol_not_found, "no CoinGecko coin id for " + ticker +
                                    " (add it to the configured coin table)"};
  out.id = i->second;
  out.vs_currency = std::move(vs);
  return {};
}

day_number coingecko_oldest_day(int64_t now) {
  return utc_day(now) - history_days;
}

fault coingecko_request(std::string_view base_url, const coin_ref& coin,
                        day_number from, day_number to, int64_t now,
                        std::string_view demo_key, provider_request& out) {
  auto oldest = coingecko_oldest_day(now);
  // Documented: "Access to historical data via the Public API (Demo plan) is
  // restricted to the past 365 days only" -- splitting a longer window into
  // year-long requests cannot reach further back.
  const auto limit = std::string{"CoinGecko's keyless and demo plans serve "
                                 "only the past 365 days, nothing before "} +
                     iso_date(oldest);
  if (to < oldest)
    return {ec::history_limit,
            limit + " (the window ends on " + iso_date(to) +
              "): older prices need another provider in the chain"};
  provider_request request;
  if (from < oldest)
    request.shortfall = limit + " (asked from " + iso_date(from) + ")";
  from = std::max(std::min(from, to - daily_granularity_days), oldest);
  // The snapshot at midnight after `to` is the close of `to`.
  auto until = std::min(unix_seconds(to + 1), now);
  request.url =
    trim_base_url(base_url) + "/api/v3/coins/" + percent_encode(coin.id) +
    "/market_chart/range?vs_currency=" + percent_encode(coin.vs_currency) +
    "&from=" + std::to_string(unix_seconds(from)) +
    "&to=" + std::to_string(until);
  request.headers.emplace_back("Accept", "application/json");
  if (!demo_key.empty())
    request.headers.emplace_back("x-cg-demo-api-key", std::string{demo_key});
  out = std::move(request);
  return {};
}

fault parse_coingecko(std::string_view body, price_series& out, int64_t now) {
  rapidjson::Document doc;
  if (!parse_json(body, doc))
    return not_json(doc);
  if (!doc.IsObject())
    return malformed("not a JSON object");
  if (member(doc, "error") != nullptr) {
    auto message = error_message(doc);
    if (message == "coin not found")
      return {ec::symbol_not_found, "CoinGecko: coin not found"};
    return {ec::provider_unavailable,
            "provider error: " + (message.empty() ? "unknown" : message)};
  }
  auto prices = member(doc, "prices");
  if (prices == nullptr || !prices->IsArray())
    return malformed("no prices array");
  const Value* volumes = member(doc, "total_volumes");
  if (volumes != nullptr && !volumes->IsArray())
    return malformed("total_volumes is not an array");
  price_series series;
  series.source = "coingecko";
  // Snapshots are dated by UTC days, around the clock like Yahoo's crypto:
  // the scheduler refreshes UTC assets by its interval.
  series.exchange_timezone = "UTC";
  std::vector<snapshot> points;
  points.reserve(prices->Size());
  for (rapidjson::SizeType i = 0; i < prices->Size(); ++i) {
    const auto& point = (*prices)[i];
    auto ms = point_time(point);
    if (ms < 0)
      return malformed("prices[" + std::to_string(i) +
                       "] is not a [time, price] pair");
    auto price = point[1].IsNumber() ? point[1].GetDouble() : -1.0;
    if (!valid_price(price)) {
      ++series.skipped_bars;
      continue;
    }
    snapshot s;
    s.ms = ms;
    s.bar.day = close_day(ms);
    s.bar.open = -1;
    s.bar.high = -1;
    s.bar.low = -1;
    s.bar.close = price;
    s.bar.adj_close = price;
    // The three arrays come from one sampling and line up; a volume is only
    // taken when its instant is the price's.
    if (volumes != nullptr && i < volumes->Size()) {
      const auto& v = (*volumes)[i];
      if (point_time(v) == ms && v[1].IsNumber()) {
        auto volume = v[1].GetDouble();
        if (std::isfinite(volume) && volume >= 0 && volume < 9e18)
          s.bar.volume = static_cast<int64_t>(std::llround(volume));
      }
    }
    points.push_back(s);
  }
  std::stable_sort(points.begin(), points.end(),
                   [](const auto& x, const auto& y) { return x.ms < y.ms; });
  auto today = now > 0 ? utc_day(now) : no_day;
  for (const auto& s : points) {
    if (today != no_day && s.bar.day >= today)
      continue; // The live price: not a close yet.
    if (!series.bars.empty() && series.bars.back().day == s.bar.day)
      series.bars.back() = s.bar;
    else
      series.bars.push_back(s.bar);
  }
  out = std::move(series);
  return {};
}

fault decode_coingecko_response(const http_response& response,
                                price_series& out, int64_t now,
                                const coin_ref& coin) {
  if (response.status == 200) {
    if (looks_like_html(response))
      return malformed("HTTP 200 with an HTML page instead of JSON");
    if (auto err = parse_coingecko(response.body, out, now))
      return err;
    out.symbol = coin.id;
    out.currency = to_upper(coin.vs_currency);
    return require_bars(out, "price");
  }
  rapidjson::Document doc;
  std::string message;
  if (!looks_like_html(response) && parse_json(response.body, doc))
    message = error_message(doc);
  if (response.status == 404 && message == "coin not found")
    return {ec::symbol_not_found, "CoinGecko: coin not found"};
  // 401/403 mean a bad key or a window beyond the plan: an operator's
  // problem, not the asset's, so nothing here is final.
  return unexpected_status(response.status, message);
}

} // namespace backfilld
