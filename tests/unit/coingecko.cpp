#define CAF_SUITE coingecko
#include <caf/test/unit_test.hpp>

#include <string>
#include <utility>
#include <vector>

#include "provider/coingecko.hpp"
#include "provider/trading_day.hpp"
#include "provider_checks.hpp"
#include "test_data.hpp"

using namespace backfilld;

namespace {

using test::answer;
using test::day_close;
using test::day_closes;

std::string fixture(const std::string& name) {
  return test::test_data("coingecko/" + name);
}

/// 2024-03-14 15:43 UTC, a minute after the fixtures' live point.
constexpr int64_t fetched_at = 1710430980;

} // namespace

CAF_TEST(tickers map to coin ids through the table) {
  coin_id_table table;
  CAF_REQUIRE(
    !coingecko_ids({{"pepe", "pepe"}, {"BTC", "wrapped-bitcoin"}}, table));
  CAF_CHECK_EQUAL(table.at("PEPE"), "pepe");
  CAF_CHECK_EQUAL(table.at("ETH"), "ethereum");
  CAF_CHECK_EQUAL(table.at("BTC"), "wrapped-bitcoin"); // config wins
  struct row {
    std::string symbol;
    ec expected;
    std::string id;
    std::string vs;
  };
  std::vector<row> rows{
    {"BTC", ec::none, "bitcoin", "usd"},
    {"btc", ec::none, "bitcoin", "usd"},
    {"ETH-EUR", ec::none, "ethereum", "eur"},
    {"BTC-USD", ec::none, "bitcoin", "usd"},
    {"AVAX", ec::none, "avalanche-2", "usd"},
    {"NOPE", ec::symbol_not_found, "", ""},
    {"", ec::invalid_symbol, "", ""},
    {"BTC-", ec::invalid_symbol, "", ""},
    {"BTC-US1", ec::invalid_symbol, "", ""},
    {"BTC/USD", ec::invalid_symbol, "", ""},
    {"../admin", ec::invalid_symbol, "", ""},
  };
  for (const auto& r : rows) {
    coin_ref coin;
    auto err = coingecko_coin(r.symbol, coingecko_default_ids(), coin);
    if (err.code != r.expected)
      CAF_FAIL(r.symbol << ": " << to_string(err.code));
    if (!err) {
      CAF_CHECK_EQUAL(coin.id, r.id);
      CAF_CHECK_EQUAL(coin.vs_currency, r.vs);
    }
  }
  coin_ref pepe;
  CAF_CHECK(!coingecko_coin("PEPE", table, pepe));
  coin_id_table refused;
  CAF_CHECK_EQUAL(coingecko_ids({{"X", "Bad Id"}}, refused).code,
                  ec::invalid_config);
  CAF_CHECK_EQUAL(coingecko_ids({{"X/Y", "ok"}}, refused).code,
                  ec::invalid_config);
}

CAF_TEST(requests stay within the free history and ask for daily data) {
  coin_ref btc{"bitcoin", "usd"};
  auto today = utc_day(fetched_at);
  auto request = [&](std::string_view base, const coin_ref& coin,
                     day_number from, day_number to, std::string_view key) {
    provider_request out;
    auto err = coingecko_request(base, coin, from, to, fetched_at, key, out);
    CAF_REQUIRE(!err);
    return out;
  };
  auto year =
    request("https://api.coingecko.com/", btc, today - 365, today, "");
  // A year back is a day more than the plan serves: clamped.
  CAF_CHECK_EQUAL(coingecko_oldest_day(fetched_at), today - 364);
  CAF_CHECK_EQUAL(year.url, "https://api.coingecko.com/api/v3/coins/bitcoin/"
                            "market_chart/range?vs_currency=usd&from=" +
                              std::to_string(unix_seconds(today - 364)) +
                              "&to=" + std::to_string(fetched_at));
  CAF_CHECK_EQUAL(year.headers.size(), 1u); // Accept only: no key
  // Five years: still only the last year.
  auto five = request("http://127.0.0.1:1", btc, today - 1826, today, "");
  CAF_CHECK_EQUAL(five.url, "http://127.0.0.1:1" + year.url.substr(25));
  // ... and says what it leaves out (a year within the limit says nothing).
  CAF_CHECK(five.shortfall.find("serve only the past 365 days, nothing "
                                "before " +
                                iso_date(today - 364)) != std::string::npos);
  CAF_CHECK(five.shortfall.find("asked from " + iso_date(today - 1826)) !=
            std::string::npos);
  CAF_CHECK(request("http://h", btc, today - 364, today, "").shortfall.empty());
  // Two weeks in the past: widened to 92 days for daily snapshots, and up
  // to the midnight that closes the last day.
  auto gap = request("http://h", btc, today - 30, today - 16, "demo-key");
  CAF_CHECK_EQUAL(gap.url, "http://h/api/v3/coins/bitcoin/market_chart/range?"
                           "vs_currency=usd&from=" +
                             std::to_string(unix_seconds(today - 16 - 92)) +
                             "&to=" + std::to_string(unix_seconds(today - 15)));
  CAF_REQUIRE_EQUAL(gap.headers.size(), 2u);
  CAF_CHECK_EQUAL(gap.headers[1].first, "x-cg-demo-api-key");
  CAF_CHECK_EQUAL(gap.headers[1].second, "demo-key");
  // Ids are encoded, even though config only allows [a-z0-9-].
  auto odd = request("http://h", {"a b", "usd"}, today - 200, today, "");
  CAF_CHECK(odd.url.find("/coins/a%20b/") != std::string::npos);
  // Older than the plan's history altogether: nothing to ask.
  provider_request none;
  auto err = coingecko_request("http://h", btc, today - 900, today - 400,
                               fetched_at, "", none);
  CAF_CHECK_EQUAL(err.code, ec::history_limit);
  CAF_CHECK(err.detail.find("older prices need another provider") !=
            std::string::npos);
  CAF_CHECK(none.url.empty());
}

CAF_TEST(midnight snapshots close the day before) {
  price_series series;
  CAF_REQUIRE(!parse_coingecko(fixture("btc_daily.json"), series));
  CAF_CHECK_EQUAL(day_closes(series), (std::vector<day_close>{
                                        {"2024-03-06", 66106.0783},
                                        {"2024-03-07", 66875.38651},
                                        {"2024-03-08", 68275.19437},
                                        {"2024-03-09", 68482.31271},
                                        {"2024-03-10", 69046.11834},
                                        {"2024-03-11", 72099.10211},
                                        {"2024-03-12", 71452.08763},
                                        {"2024-03-13", 73097.76594},
                                        {"2024-03-14", 72841.17708},
                                      }));
  CAF_CHECK_EQUAL(series.source, "coingecko");
  CAF_CHECK_EQUAL(series.exchange_timezone, "UTC");
  CAF_CHECK_EQUAL(series.skipped_bars, 0);
  CAF_CHECK_EQUAL(series.bars.front().volume, 50735813513);
  for (const auto& bar : series.bars) {
    CAF_CHECK(!(bar.open > 0) && !(bar.high > 0) && !(bar.low > 0));
    CAF_CHECK_EQUAL(bar.adj_close, bar.close);
  }
  // Fetched on the 14th, the live price is not a close yet.
  CAF_REQUIRE(!parse_coingecko(fixture("btc_daily.json"), series, fetched_at));
  CAF_CHECK_EQUAL(series.bars.size(), 8u);
  CAF_CHECK_EQUAL(iso_date(series.bars.back().day), "2024-03-13");
}

CAF_TEST(hourly points collapse to the last of each day) {
  price_series series;
  CAF_REQUIRE(!parse_coingecko(fixture("eth_hourly.json"), series));
  CAF_CHECK_EQUAL(day_closes(series),
                  (std::vector<day_close>{{"2024-03-09", 3877.0143},
                                          {"2024-03-10", 3855.1987},
                                          {"2024-03-11", 3861.9936}}));
}

CAF_TEST(bad prices are skipped and counted) {
  auto body = std::string{R"({"prices":[[1709769600000,null],)"
                          R"([1709856000000,-3],[1709942400000,NaN],)"
                          R"([1710028800000,0],[1710115200000,"1"],)"
                          R"([1710201600000,72099.1]],"market_caps":[],)"
                          R"("total_volumes":[]})"};
  price_series series;
  CAF_REQUIRE(!parse_coingecko(body, series));
  CAF_CHECK_EQUAL(series.skipped_bars, 5);
  CAF_CHECK_EQUAL(day_closes(series),
                  (std::vector<day_close>{{"2024-03-11", 72099.1}}));
  CAF_CHECK(!series.bars.front().has_volume());
}

CAF_TEST(points out of order are put in order) {
  auto body = std::string{R"({"prices":[[1710201600000,3],)"
                          R"([1710115200000,2],[1710118800000,2.5]]})"};
  // By time, the 01:00 point comes before the snapshot at the next
  // midnight, which closes the same day: it is the close.
  price_series series;
  CAF_REQUIRE(!parse_coingecko(body, series));
  CAF_CHECK_EQUAL(day_closes(series), (std::vector<day_close>{
                                        {"2024-03-10", 2}, {"2024-03-11", 3}}));
}

CAF_TEST(bodies that are not a market chart are refused whole) {
  test::refused_bodies bodies{
    {"empty", ""},
    {"text", "error code: 1015"},
    {"array", "[]"},
    {"truncated", fixture("btc_daily.json").substr(0, 100)},
    {"no prices", R"({"market_caps":[],"total_volumes":[]})"},
    {"prices object", R"({"prices":{}})"},
    {"flat prices", R"({"prices":[1709769600000,66106.0]})"},
    {"triple", R"({"prices":[[1709769600000,66106.0,1]]})"},
    {"string time", R"({"prices":[["1709769600000",66106.0]]})"},
    {"negative time", R"({"prices":[[-5,66106.0]]})"},
    {"far future", R"({"prices":[[1e300,66106.0]]})"},
    {"volumes object", R"({"prices":[],"total_volumes":{}})"},
    {"not utf-8", "{\"prices\":[],\"x\":\"\xc3\x28\"}"},
    {"deep", std::string(100'000, '[')},
  };
  test::check_refused(bodies,
                      [](const std::string& body, price_series& series) {
                        return parse_coingecko(body, series);
                      });
}

CAF_TEST(http answers are classified) {
  std::vector<test::classified_answer> answers{
    {"chart", answer(200, fixture("btc_daily.json")), ec::none},
    {"unknown coin", answer(404, fixture("not_found.json")),
     ec::symbol_not_found},
    {"unknown coin with 200", answer(200, fixture("not_found.json")),
     ec::symbol_not_found},
    {"proxy 404", answer(404, "<html>nope</html>", "text/html"),
     ec::provider_unavailable},
    {"throttled", answer(429, fixture("rate_limited.json")), ec::rate_limited},
    {"throttled by the edge", answer(429, "", "text/plain"), ec::rate_limited},
    {"beyond the plan", answer(401, fixture("range_limit.json")),
     ec::provider_unavailable},
    {"bad key",
     answer(401, R"({"status":{"error_code":10002,)"
                 R"("error_message":"API Key Missing"}})"),
     ec::provider_unavailable},
    {"outage", answer(503, "<html>down</html>", "text/html"),
     ec::provider_unavailable},
    {"html with 200",
     answer(200, "<!DOCTYPE html><html>Just a moment...</html>", "text/html"),
     ec::malformed_response},
    {"html labelled json", answer(200, "<html></html>"),
     ec::malformed_response},
    {"empty chart", answer(200, fixture("empty.json")), ec::no_data},
    {"only bad prices", answer(200, R"({"prices":[[1709769600000,0]]})"),
     ec::no_data},
  };
  test::check_classified(
    answers,
    [](const http_response& response, price_series& series) {
      return decode_coingecko_response(response, series, 0, {"bitcoin", "eur"});
    },
    [](const price_series& series) {
      CAF_CHECK_EQUAL(series.currency, "EUR");
      CAF_CHECK_EQUAL(series.symbol, "bitcoin");
    });
  price_series series;
  auto limit = decode_coingecko_response(answer(401, fixture("range_limit."
                                                             "json")),
                                         series);
  CAF_CHECK(limit.detail.find("365 days") != std::string::npos);
}

CAF_TEST(the fake servers answer parses) {
  // tests/fake_provider/test_fake_coingecko.py checks that the fake still
  // sends exactly this: 100 days of midnight snapshots and the live price.
  price_series series;
  CAF_REQUIRE(!decode_coingecko_response(answer(200, fixture("from_fake."
                                                             "json")),
                                         series, fetched_at,
                                         {"bitcoin", "usd"}));
  CAF_CHECK_EQUAL(series.bars.size(), 100u);
  CAF_CHECK_EQUAL(iso_date(series.bars.back().day), "2024-03-13");
  CAF_CHECK_EQUAL(series.bars.back().day - series.bars.front().day, 99);
  CAF_CHECK_EQUAL(series.skipped_bars, 0);
  for (const auto& bar : series.bars)
    CAF_CHECK(bar.has_volume());
}
