#define CAF_SUITE provider
#include <caf/test/unit_test.hpp>

#include <string>

#include "policy/fetch_outcome.hpp"
#include "provider/provider.hpp"
#include "provider/trading_day.hpp"
#include "provider_checks.hpp"
#include "test_data.hpp"

using namespace backfilld;

namespace {

using test::answer;

// 2024-03-15 12:00 UTC: every fixture's days are final by then.
constexpr int64_t now = 1710504000;

backfill_job job(std::string symbol, std::string type) {
  backfill_job j;
  j.id = 1;
  j.asset = 7;
  j.symbol = std::move(symbol);
  j.asset_type = std::move(type);
  return j;
}

provider_settings settings() {
  provider_settings s;
  s.yahoo_base_url = "http://yahoo.test";
  s.frankfurter_base_url = "http://fx.test/";
  s.coingecko_base_url = "http://cg.test";
  s.coingecko_demo_key = "demo";
  s.coingecko_ids["PEPE"] = "pepe";
  s.tiingo_base_url = "http://tiingo.test";
  s.tiingo_api_key = "s3cret";
  return s;
}

/// Two months up to `now`, as a backfill's explicit window.
chart_window two_months() {
  chart_window w;
  w.period1 = unix_seconds(parse_iso_day("2024-01-15"));
  w.period2 = unix_seconds(parse_iso_day("2024-03-15"));
  return w;
}

std::string header(const provider_request& r, const std::string& name) {
  for (const auto& [key, value] : r.headers)
    if (key == name)
      return value;
  return {};
}

} // namespace

CAF_TEST(every known name makes its provider) {
  for (const auto& name : provider_names()) {
    auto p = make_provider(name, settings());
    CAF_REQUIRE(p != nullptr);
    CAF_CHECK_EQUAL(std::string{p->name()}, name);
  }
  CAF_CHECK(make_provider("stooq", settings()) == nullptr);
}

CAF_TEST(chains come from config by asset type) {
  auto s = settings();
  s.chains["fx"] = {"frankfurter"};
  CAF_CHECK_EQUAL(chain_for(s, "currency"),
                  std::vector<std::string>{"frankfurter"});
  CAF_CHECK_EQUAL(chain_for(s, "fx"), std::vector<std::string>{"frankfurter"});
  CAF_CHECK_EQUAL(chain_for(s, "stock"),
                  (std::vector<std::string>{"yahoo", "tiingo"}));
  CAF_CHECK_EQUAL(chain_for(s, "mutual_fund"),
                  std::vector<std::string>{"yahoo"});
}

CAF_TEST(windows become days) {
  day_number from = no_day;
  day_number to = no_day;
  window_days(two_months(), now, from, to);
  CAF_CHECK_EQUAL(iso_date(from), "2024-01-15");
  CAF_CHECK_EQUAL(iso_date(to), "2024-03-14"); // period2 is exclusive
  window_days(chart_window{"1y", 0, 0}, now, from, to);
  CAF_CHECK_EQUAL(iso_date(to), "2024-03-15");
  CAF_CHECK_EQUAL(from, range_start("1y", utc_day(now)));
}

CAF_TEST(yahoo asks for the chart and reads it) {
  auto yahoo = make_provider("yahoo", settings());
  provider_request r;
  CAF_REQUIRE(!yahoo->request(job("AAPL", "stock"), two_months(), now, r));
  CAF_CHECK_EQUAL(r.url.rfind("http://yahoo.test/v8/finance/chart/AAPL?", 0),
                  0u);
  CAF_CHECK(r.headers.empty());
  price_series s;
  auto f =
    yahoo->decode(job("AAPL", "stock"),
                  answer(200, test::test_data("yahoo/aapl_1d.json")), 0, s);
  CAF_CHECK_EQUAL(f.code, ec::none);
  CAF_CHECK_EQUAL(s.source, "yahoo");
  CAF_CHECK(!s.bars.empty());
  CAF_CHECK_EQUAL(yahoo->request(job("EUR", "cash"), two_months(), now, r).code,
                  ec::no_market_price);
}

CAF_TEST(frankfurter asks for the pair and stores the rate as the close) {
  auto fx = make_provider("frankfurter", settings());
  CAF_CHECK(fx->unusable().empty());
  provider_request r;
  CAF_REQUIRE(!fx->request(job("EURUSD=X", "currency"), two_months(), now, r));
  CAF_CHECK_EQUAL(r.url, "http://fx.test/v1/2024-01-15..2024-03-14?base=EUR&"
                         "symbols=USD");
  price_series s;
  auto f = fx->decode(job("EURUSD=X", "currency"),
                      answer(200, test::test_data("frankfurter/eur_usd.json")),
                      now, s);
  CAF_CHECK_EQUAL(f.code, ec::none);
  CAF_CHECK_EQUAL(s.source, "frankfurter");
  CAF_CHECK_EQUAL(s.currency, "USD");
  CAF_REQUIRE(!s.bars.empty());
  CAF_CHECK_EQUAL(s.bars.front().close, 1.0956);
  CAF_CHECK_EQUAL(s.bars.front().adj_close, 1.0956);
  CAF_CHECK(!(s.bars.front().open > 0));
  CAF_CHECK_EQUAL(fx->request(job("AAPL", "stock"), two_months(), now, r).code,
                  ec::invalid_symbol);
}

CAF_TEST(coingecko maps tickers through the extended table and sends the key) {
  auto cg = make_provider("coingecko", settings());
  provider_request r;
  CAF_REQUIRE(!cg->request(job("BTC", "crypto"), two_months(), now, r));
  CAF_CHECK_EQUAL(
    r.url.rfind("http://cg.test/api/v3/coins/bitcoin/market_chart/"
                "range?vs_currency=usd&",
                0),
    0u);
  CAF_CHECK_EQUAL(header(r, "x-cg-demo-api-key"), "demo");
  CAF_REQUIRE(!cg->request(job("PEPE", "crypto"), two_months(), now, r));
  CAF_CHECK(r.url.find("/coins/pepe/") != std::string::npos);
  CAF_CHECK_EQUAL(cg->request(job("NOPE", "crypto"), two_months(), now, r).code,
                  ec::symbol_not_found);
  price_series s;
  auto f =
    cg->decode(job("BTC", "crypto"),
               answer(200, test::test_data("coingecko/btc_daily.json")), 0, s);
  CAF_CHECK_EQUAL(f.code, ec::none);
  CAF_CHECK_EQUAL(s.source, "coingecko");
  CAF_CHECK_EQUAL(s.symbol, "bitcoin");
  CAF_CHECK_EQUAL(s.currency, "USD");
  CAF_CHECK(!s.bars.empty());
}

CAF_TEST(tiingo is off without a key and sends it in a header) {
  auto s = settings();
  s.tiingo_api_key.clear();
  CAF_CHECK(!make_provider("tiingo", s)->unusable().empty());
  auto tiingo = make_provider("tiingo", settings());
  CAF_CHECK(tiingo->unusable().empty());
  provider_request r;
  CAF_REQUIRE(!tiingo->request(job("AAPL", "stock"), two_months(), now, r));
  CAF_CHECK_EQUAL(r.url, "http://tiingo.test/tiingo/daily/AAPL/prices?"
                         "startDate=2024-01-15&endDate=2024-03-14&format=json&"
                         "resampleFreq=daily");
  CAF_CHECK_EQUAL(header(r, "Authorization"), "Token s3cret");
  CAF_CHECK(r.url.find("s3cret") == std::string::npos);
  price_series series;
  auto f =
    tiingo->decode(job("AAPL", "stock"),
                   answer(200, test::test_data("tiingo/aapl.json")), 0, series);
  CAF_CHECK_EQUAL(f.code, ec::none);
  CAF_CHECK_EQUAL(series.source, "tiingo");
  CAF_CHECK_EQUAL(series.symbol, "AAPL");
  CAF_CHECK_EQUAL(
    tiingo->request(job("VOD.L", "stock"), two_months(), now, r).code,
    ec::symbol_not_found);
}

CAF_TEST(the answers of every provider are classified alike) {
  classify_settings cs;
  struct row {
    std::string provider;
    std::string symbol;
    std::string type;
    http_response response;
    fetch_result what;
    ec code;
  };
  std::vector<row> rows{
    {"frankfurter", "EURXYZ", "currency",
     answer(404, test::test_data("frankfurter/not_found.json")),
     fetch_result::failure, ec::symbol_not_found},
    {"coingecko", "BTC", "crypto",
     answer(404, test::test_data("coingecko/not_found.json")),
     fetch_result::failure, ec::symbol_not_found},
    {"tiingo", "NOPE", "stock",
     answer(404, test::test_data("tiingo/not_found.json")),
     fetch_result::failure, ec::symbol_not_found},
    {"coingecko", "BTC", "crypto",
     answer(429, test::test_data("coingecko/rate_limited.json")),
     fetch_result::pause, ec::rate_limited},
    {"frankfurter", "EURUSD", "currency", answer(503, "down"),
     fetch_result::failure, ec::provider_unavailable},
    // A proof-of-work page with 200 is no empty series.
    {"frankfurter", "EURUSD", "currency",
     answer(200, "<html>checking your browser</html>", "text/html"),
     fetch_result::failure, ec::malformed_response},
    {"tiingo", "AAPL", "stock", answer(200, "[]"), fetch_result::failure,
     ec::no_data},
  };
  for (const auto& r : rows) {
    CAF_MESSAGE(r.provider << " " << r.response.status);
    auto p = make_provider(r.provider, settings());
    auto outcome = classify(*p, job(r.symbol, r.type), r.response, 0, cs);
    CAF_CHECK_EQUAL(to_string(outcome.what), to_string(r.what));
    CAF_CHECK_EQUAL(to_string(outcome.code), to_string(r.code));
  }
}
