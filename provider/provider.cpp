#include "provider/provider.hpp"

#include <algorithm>

#include "provider/frankfurter.hpp"
#include "provider/symbols.hpp"
#include "provider/tiingo.hpp"
#include "provider/trading_day.hpp"

namespace backfilld {

namespace {

/// Cash and custom assets have no market price anywhere.
fault market_priced(const backfill_job& job) {
  if (has_market_price(job.asset_type))
    return {};
  return {ec::no_market_price,
          "asset type " + job.asset_type + " has no market price"};
}

class yahoo_provider : public price_provider {
 public:
  explicit yahoo_provider(std::string base_url)
    : base_url_(std::move(base_url)) {}

  const char* name() const override {
    return "yahoo";
  }

  fault request(const backfill_job& job, const chart_window& window, int64_t,
                provider_request& out) const override {
    std::string ticker;
    if (auto f = yahoo_symbol(job.asset_type, job.symbol, ticker))
      return f;
    out = provider_request{chart_url(base_url_, ticker, window), {}, {}};
    return {};
  }

  fault decode(const backfill_job&, const http_response& response, int64_t now,
               price_series& out) const override {
    return decode_chart_response(response, out, now);
  }

 private:
  std::string base_url_;
};

class frankfurter_provider : public price_provider {
 public:
  explicit frankfurter_provider(std::string base_url)
    : base_url_(std::move(base_url)) {}

  const char* name() const override {
    return "frankfurter";
  }

  fault request(const backfill_job& job, const chart_window& window,
                int64_t now, provider_request& out) const override {
    if (auto f = market_priced(job))
      return f;
    fx_pair pair;
    if (auto f = frankfurter_pair(job.symbol, pair))
      return f;
    day_number from = no_day;
    day_number to = no_day;
    window_days(window, now, from, to);
    out = frankfurter_request(base_url_, pair, from, to);
    return {};
  }

  fault decode(const backfill_job&, const http_response& response, int64_t now,
               price_series& out) const override {
    return decode_frankfurter_response(response, out, now);
  }

 private:
  std::string base_url_;
};

class coingecko_provider : public price_provider {
 public:
  coingecko_provider(std::string base_url, std::string demo_key,
                     coin_id_table ids)
    : base_url_(std::move(base_url)),
      demo_key_(std::move(demo_key)),
      ids_(std::move(ids)) {}

  const char* name() const override {
    return "coingecko";
  }

  fault request(const backfill_job& job, const chart_window& window,
                int64_t now, provider_request& out) const override {
    if (auto f = market_priced(job))
      return f;
    coin_ref coin;
    if (auto f = coingecko_coin(job.symbol, ids_, coin))
      return f;
    day_number from = no_day;
    day_number to = no_day;
    window_days(window, now, from, to);
    return coingecko_request(base_url_, coin, from, to, now, demo_key_, out);
  }

  fault decode(const backfill_job& job, const http_response& response,
               int64_t now, price_series& out) const override {
    // The answer names neither coin nor currency: the request's are used.
    coin_ref coin;
    if (auto f = coingecko_coin(job.symbol, ids_, coin))
      return f;
    return decode_coingecko_response(response, out, now, coin);
  }

 private:
  std::string base_url_;
  std::string demo_key_;
  coin_id_table ids_;
};

class tiingo_provider : public price_provider {
 public:
  tiingo_provider(std::string base_url, std::string api_key)
    : base_url_(std::move(base_url)),
      api_key_(std::move(api_key)) {}

  const char* name() const override {
    return "tiingo";
  }

  std::string unusable() const override {
    if (api_key_.empty())
      return "no API key (tiingo.api-key or tiingo.api-key-file)";
    return {};
  }

  fault request(const backfill_job& job, const chart_window& window,
                int64_t now, provider_request& out) const override {
    if (auto f = market_priced(job))
      return f;
    std::string ticker;
    if (auto f = tiingo_ticker(job.symbol, ticker))
      return f;
    day_number from = no_day;
    day_number to = no_day;
    window_days(window, now, from, to);
    out = tiingo_request(base_url_, ticker, from, to, api_key_);
    return {};
  }

  fault decode(const backfill_job& job, const http_response& response,
               int64_t now, price_series& out) const override {
    auto f = decode_tiingo_response(response, out, now);
    // Tiingo does not echo the ticker.
    if (out.symbol.empty())
      tiingo_ticker(job.symbol, out.symbol);
    return f;
  }

 private:
  std::string base_url_;
  std::string api_key_;
};

} // namespace

const std::vector<std::string>& provider_names() {
  static const std::vector<std::string> names{"yahoo", "frankfurter",
                                              "coingecko", "tiingo"};
  return names;
}

std::vector<std::string> chain_for(const provider_settings& settings,
                                   std::string_view asset_type) {
  std::string key{asset_type};
  if (key == "currency")
    key = "fx";
  if (auto i = settings.chains.find(key); i != settings.chains.end())
    return i->second;
  return {"yahoo"};
}

fault chain_with_source(const provider_settings& settings,
                        std::string_view asset_type, std::string_view source,
                        std::vector<std::string>& out) {
  out = chain_for(settings, asset_type);
  auto first = source.find_first_not_of(" \t");
  if (first == std::string_view::npos)
    return {};
  auto last = source.find_last_not_of(" \t");
  std::string name{source.substr(first, last - first + 1)};
  for (auto& c : name)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  const auto& known = provider_names();
  if (std::find(known.begin(), known.end(), name) == known.end()) {
    std::string list;
    for (const auto& k : known)
      list += (list.empty() ? "" : ", ") + k;
    return {ec::invalid_config, "the asset's source \"" + std::string{source} +
                                  "\" is not a provider (" + list + ")"};
  }
  out.erase(std::remove(out.begin(), out.end(), name), out.end());
  out.insert(out.begin(), std::move(name));
  return {};
}

std::unique_ptr<price_provider> make_provider(std::string_view name,
                                              const provider_settings& s) {
  if (name == "yahoo")
    return std::make_unique<yahoo_provider>(s.yahoo_base_url);
  if (name == "frankfurter")
    return std::make_unique<frankfurter_provider>(s.frankfurter_base_url);
  if (name == "coingecko")
    return std::make_unique<coingecko_provider>(
      s.coingecko_base_url, s.coingecko_demo_key, s.coingecko_ids);
  if (name == "tiingo")
    return std::make_unique<tiingo_provider>(s.tiingo_base_url,
                                             s.tiingo_api_key);
  return nullptr;
}

void window_days(const chart_window& window, int64_t now, day_number& from,
                 day_number& to) {
  auto today = utc_day(now);
  if (!window.range.empty()) {
    from = range_start(window.range, today);
    to = today;
    return;
  }
  from = utc_day(window.period1);
  // period2 is exclusive.
  to = window.period2 > window.period1 ? utc_day(window.period2 - 1) : from;
}

} // namespace backfilld
