#define CAF_SUITE tiingo
#include <caf/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "provider/tiingo.hpp"
#include "provider/trading_day.hpp"
#include "provider_checks.hpp"
#include "test_data.hpp"

using namespace backfilld;

namespace {

using test::answer;
using test::day_close;
using test::day_closes;
using test::patched;

std::string fixture(const std::string& name) {
  return test::test_data("tiingo/" + name);
}

} // namespace

CAF_TEST(symbols map to tiingo tickers) {
  struct row {
    std::string symbol;
    ec expected;
    std::string ticker;
  };
  std::vector<row> rows{
    {"AAPL", ec::none, "AAPL"},
    {"brk-b", ec::none, "BRK-B"},
    {"VOD.L", ec::symbol_not_found, ""},
    {"^GSPC", ec::symbol_not_found, ""},
    {"EURUSD=X", ec::symbol_not_found, ""},
    {"", ec::invalid_symbol, ""},
    {"-X", ec::invalid_symbol, ""},
    {"AA PL", ec::invalid_symbol, ""},
    {"../../x", ec::symbol_not_found, ""},
    {"A/B", ec::invalid_symbol, ""},
    {"A?token=x", ec::invalid_symbol, ""},
  };
  for (const auto& r : rows) {
    std::string ticker;
    auto err = tiingo_ticker(r.symbol, ticker);
    if (err.code != r.expected)
      CAF_FAIL(r.symbol << ": " << to_string(err.code));
    if (!err)
      CAF_CHECK_EQUAL(ticker, r.ticker);
  }
}

CAF_TEST(requests carry the key in a header) {
  auto request = tiingo_request("https://api.tiingo.com/", "BRK-B",
                                parse_iso_day("2023-03-01"),
                                parse_iso_day("2024-03-01"), "s3cret");
  CAF_CHECK_EQUAL(request.url, "https://api.tiingo.com/tiingo/daily/BRK-B/"
                               "prices?startDate=2023-03-01&endDate=2024-03-"
                               "01&format=json&resampleFreq=daily");
  CAF_CHECK(request.url.find("s3cret") == std::string::npos);
  CAF_REQUIRE_EQUAL(request.headers.size(), 2u);
  CAF_CHECK_EQUAL(request.headers[1].first, "Authorization");
  CAF_CHECK_EQUAL(request.headers[1].second, "Token s3cret");
}

CAF_TEST(daily prices become bars with adjusted closes) {
  price_series series;
  std::vector<tiingo_event> events;
  CAF_REQUIRE(!parse_tiingo(fixture("aapl.json"), series, &events));
  CAF_CHECK_EQUAL(day_closes(series), (std::vector<day_close>{
                                        {"2024-02-06", 189.3},
                                        {"2024-02-07", 189.41},
                                        {"2024-02-08", 188.32},
                                        {"2024-02-09", 188.85},
                                        {"2024-02-12", 187.15},
                                      }));
  CAF_CHECK_EQUAL(series.source, "tiingo");
  CAF_CHECK_EQUAL(series.exchange_timezone, "America/New_York");
  CAF_CHECK_EQUAL(series.currency, "USD");
  CAF_CHECK_EQUAL(series.skipped_bars, 0);
  const auto& first = series.bars.front();
  CAF_CHECK_EQUAL(first.open, 186.86);
  CAF_CHECK_EQUAL(first.high, 189.31);
  CAF_CHECK_EQUAL(first.low, 186.7733);
  CAF_CHECK_EQUAL(first.volume, 43490759);
  CAF_CHECK_EQUAL(first.adj_close, 188.3656);
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(iso_date(events[0].day), "2024-02-09");
  CAF_CHECK_EQUAL(events[0].dividend, 0.24);
  CAF_CHECK_EQUAL(events[0].split_factor, 1.0);
}

CAF_TEST(splits are reported and raw prices kept) {
  price_series series;
  std::vector<tiingo_event> events;
  CAF_REQUIRE(!parse_tiingo(fixture("nvda_split.json"), series, &events));
  CAF_CHECK_EQUAL(series.bars.size(), 4u);
  CAF_CHECK_EQUAL(series.bars[1].close, 1208.88);
  CAF_CHECK_EQUAL(series.bars[2].close, 121.79);
  CAF_CHECK_EQUAL(series.bars[1].adj_close, 120.8464);
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(iso_date(events[0].day), "2024-06-10");
  CAF_CHECK_EQUAL(events[0].split_factor, 10.0);
  CAF_CHECK_EQUAL(events[0].dividend, 0.0);
  // Without an events vector the bars are the same.
  price_series again;
  CAF_REQUIRE(!parse_tiingo(fixture("nvda_split.json"), again));
  CAF_CHECK_EQUAL(day_closes(again), day_closes(series));
}

CAF_TEST(bad bars are skipped and counted) {
  auto body = fixture("aapl.json");
  body = patched(body, R"("close": 189.41)", R"("close": null)");
  body = patched(body, R"("open": 189.385)", R"("open": -189.385)");
  body = patched(body, R"("low": 188.0)", R"("low": NaN)");
  body = patched(body, R"("high": 188.67,)", "");
  price_series series;
  std::vector<tiingo_event> events;
  CAF_REQUIRE(!parse_tiingo(body, series, &events));
  CAF_CHECK_EQUAL(series.skipped_bars, 4);
  CAF_CHECK_EQUAL(day_closes(series),
                  (std::vector<day_close>{{"2024-02-06", 189.3}}));
  // The dividend is a fact of the day, whatever its prices.
  CAF_CHECK_EQUAL(events.size(), 1u);
  // A bad adjusted close or volume alone does not cost the bar.
  auto partial = patched(fixture("aapl.json"), R"("adjClose": 188.3656)",
                         R"("adjClose": null)");
  partial = patched(partial, R"("volume": 43490759)", R"("volume": -1)");
  CAF_REQUIRE(!parse_tiingo(partial, series));
  CAF_CHECK_EQUAL(series.bars.size(), 5u);
  CAF_CHECK(!series.bars.front().has_adj_close());
  CAF_CHECK(!series.bars.front().has_volume());
}

CAF_TEST(todays bar waits for the evening corrections) {
  price_series series;
  // 2024-02-12 23:30 UTC (18:30 in New York): the 12th is still open to
  // corrections.
  CAF_REQUIRE(!parse_tiingo(fixture("aapl.json"), series, nullptr, 1707780600));
  CAF_CHECK_EQUAL(iso_date(series.bars.back().day), "2024-02-09");
  // 01:00 UTC the next day it is history.
  CAF_REQUIRE(!parse_tiingo(fixture("aapl.json"), series, nullptr, 1707786000));
  CAF_CHECK_EQUAL(iso_date(series.bars.back().day), "2024-02-12");
}

CAF_TEST(bodies that are not daily prices are refused whole) {
  test::refused_bodies bodies{
    {"empty", ""},
    {"text", "Service Unavailable"},
    {"object", R"({"prices":[]})"},
    {"truncated", fixture("aapl.json").substr(0, 200)},
    {"row not object", "[1,2]"},
    {"no date", R"([{"close":1,"high":1,"low":1,"open":1}])"},
    {"bad date", R"([{"date":"2024-13-01T00:00:00.000Z","close":1}])"},
    {"date number", R"([{"date":20240102,"close":1}])"},
    {"date with junk", R"([{"date":"2024-01-02 junk","close":1}])"},
    {"not utf-8", "[{\"date\":\"\xed\xa0\x80\"}]"},
    {"deep", std::string(100'000, '[')},
  };
  test::check_refused(bodies,
                      [](const std::string& body, price_series& series) {
                        return parse_tiingo(body, series);
                      });
}

CAF_TEST(http answers are classified) {
  std::vector<test::classified_answer> answers{
    {"prices", answer(200, fixture("aapl.json")), ec::none},
    {"unknown ticker", answer(404, fixture("not_found.json")),
     ec::symbol_not_found},
    {"unknown ticker with 200", answer(200, fixture("not_found.json")),
     ec::symbol_not_found},
    {"proxy 404", answer(404, "<html>nope</html>", "text/html"),
     ec::provider_unavailable},
    {"other 404 json", answer(404, R"({"detail":"Gone"})"),
     ec::provider_unavailable},
    {"throttled", answer(429, "", "text/plain"), ec::rate_limited},
    {"bad key", answer(401, R"({"detail":"Invalid token."})"),
     ec::provider_unavailable},
    {"other detail with 200", answer(200, R"({"detail":"Invalid token."})"),
     ec::provider_unavailable},
    {"outage", answer(502, "<html>bad gateway</html>", "text/html"),
     ec::provider_unavailable},
    {"html with 200", answer(200, "<!doctype html><p>verify</p>", "text/html"),
     ec::malformed_response},
    {"html labelled json", answer(200, "\r\n<html>"), ec::malformed_response},
    {"empty window", answer(200, fixture("empty.json")), ec::no_data},
    {"only bad bars",
     answer(200, R"([{"date":"2024-01-02T00:00:00.000Z",)"
                 R"("close":0,"high":0,"low":0,"open":0}])"),
     ec::no_data},
  };
  std::vector<tiingo_event> events;
  test::check_classified(
    answers,
    [&](const http_response& response, price_series& series) {
      events.clear();
      return decode_tiingo_response(response, series, 0, &events);
    },
    [&](const price_series&) { CAF_CHECK_EQUAL(events.size(), 1u); });
  price_series series;
  auto key = decode_tiingo_response(
    answer(401, R"({"detail":"Invalid token."})"), series);
  CAF_CHECK(key.detail.find("Invalid token.") != std::string::npos);
}

CAF_TEST(the fake servers answer parses) {
  // tests/fake_provider/test_fake_tiingo.py checks that the fake still
  // sends exactly this: NVIDIA's weekdays around its 10-for-1 split.
  price_series series;
  std::vector<tiingo_event> events;
  CAF_REQUIRE(!decode_tiingo_response(answer(200, fixture("from_fake.json")),
                                      series, 1718366400, &events));
  // 2024-05-01 to 06-13: 32 weekdays; the 14th is today.
  CAF_CHECK_EQUAL(series.bars.size(), 32u);
  CAF_CHECK_EQUAL(series.skipped_bars, 0);
  auto split = std::find_if(events.begin(), events.end(),
                            [](const auto& e) { return e.split_factor != 1; });
  CAF_REQUIRE(split != events.end());
  CAF_CHECK_EQUAL(iso_date(split->day), "2024-06-10");
  CAF_CHECK_EQUAL(split->split_factor, 10.0);
}
