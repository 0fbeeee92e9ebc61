#define CAF_SUITE frankfurter
#include <caf/test/unit_test.hpp>

#include <string>
#include <utility>
#include <vector>

#include "provider/frankfurter.hpp"
#include "provider/trading_day.hpp"
#include "provider_checks.hpp"
#include "test_data.hpp"

using namespace backfilld;

namespace {

using test::answer;
using test::patched;

std::string fixture(const std::string& name) {
  return test::test_data("frankfurter/" + name);
}

/// A day's rate as (date, rate): a rate is stored as the day's close.
using day_rate = test::day_close;

std::vector<day_rate> day_rates(const price_series& series) {
  return test::day_closes(series);
}

} // namespace

CAF_TEST(symbols map to currency pairs) {
  struct row {
    std::string symbol;
    std::string base; // empty: refused
    std::string quote;
  };
  std::vector<row> rows{
    {"EURUSD=X", "EUR", "USD"},
    {"eurusd=x", "EUR", "USD"},
    {"EURUSD", "EUR", "USD"},
    {"EUR/USD", "EUR", "USD"},
    {"gbp-chf", "GBP", "CHF"},
    {"JPY=X", "USD", "JPY"},
    {"EUREUR", "", ""},
    {"EURUS", "", ""},
    {"EUR/US/", "", ""},
    {"EU1USD", "", ""},
    {"", "", ""},
    {"EURUSD=Y", "", ""},
    {"EUR USD", "", ""},
    {"EUR%2FUSD", "", ""},
  };
  for (const auto& r : rows) {
    fx_pair pair;
    auto err = frankfurter_pair(r.symbol, pair);
    if (r.base.empty()) {
      CAF_CHECK_EQUAL(err.code, ec::invalid_symbol);
    } else {
      CAF_CHECK(!err);
      CAF_CHECK_EQUAL(pair.base, r.base);
      CAF_CHECK_EQUAL(pair.quote, r.quote);
    }
  }
}

CAF_TEST(requests name the window and the pair) {
  fx_pair pair{"EUR", "USD"};
  auto from = parse_iso_day("2024-01-01");
  auto to = parse_iso_day("2024-12-31");
  auto request =
    frankfurter_request("https://api.frankfurter.dev/", pair, from, to);
  CAF_CHECK_EQUAL(request.url, "https://api.frankfurter.dev/v1/"
                               "2024-01-01..2024-12-31?base=EUR&symbols=USD");
  CAF_CHECK(request.headers.empty());
  // Too short a window could fall on a holiday, whose 404 reads like an
  // unknown currency: it reaches back a week.
  auto short_window = frankfurter_request("http://127.0.0.1:9", pair, to, to);
  CAF_CHECK_EQUAL(short_window.url, "http://127.0.0.1:9/v1/"
                                    "2024-12-25..2024-12-31?base=EUR&symbols="
                                    "USD");
}

CAF_TEST(a time series becomes close-only bars) {
  price_series series;
  auto err = parse_frankfurter(fixture("eur_usd.json"), series);
  CAF_REQUIRE(!err);
  CAF_CHECK_EQUAL(day_rates(series), (std::vector<day_rate>{
                                       {"2024-01-02", 1.0956},
                                       {"2024-01-03", 1.0919},
                                       {"2024-01-04", 1.0953},
                                       {"2024-01-05", 1.0921},
                                       {"2024-01-08", 1.0946},
                                       {"2024-01-09", 1.094},
                                       {"2024-01-10", 1.0946},
                                     }));
  CAF_CHECK_EQUAL(series.source, "frankfurter");
  CAF_CHECK_EQUAL(series.currency, "USD");
  // The ECB's clock, for the scheduler's after-close refresh.
  CAF_CHECK_EQUAL(series.exchange_timezone, "Europe/Berlin");
  CAF_CHECK_EQUAL(series.symbol, "EUR/USD");
  CAF_CHECK_EQUAL(series.skipped_bars, 0);
  for (const auto& bar : series.bars) {
    // No OHLC and no volume: the writer stores NULL for these.
    CAF_CHECK(!(bar.open > 0) && !(bar.high > 0) && !(bar.low > 0));
    CAF_CHECK(!bar.has_volume());
    CAF_CHECK(bar.has_adj_close());
    CAF_CHECK_EQUAL(bar.adj_close, bar.close);
  }
}

CAF_TEST(rebased pairs skip holidays) {
  price_series series;
  CAF_REQUIRE(!parse_frankfurter(fixture("usd_jpy.json"), series));
  CAF_CHECK_EQUAL(day_rates(series),
                  (std::vector<day_rate>{{"2024-03-28", 151.31},
                                         {"2024-04-02", 151.59},
                                         {"2024-04-03", 151.64}}));
  CAF_CHECK_EQUAL(series.currency, "JPY");
  CAF_CHECK_EQUAL(series.symbol, "USD/JPY");
}

CAF_TEST(bad rates are skipped and counted) {
  auto body = fixture("eur_usd.json");
  body = patched(body, R"("2024-01-03":{"USD":1.0919})",
                 R"("2024-01-03":{"USD":null})");
  body = patched(body, R"("2024-01-04":{"USD":1.0953})",
                 R"("2024-01-04":{"USD":-1.0953})");
  body = patched(body, R"("2024-01-05":{"USD":1.0921})",
                 R"("2024-01-05":{"USD":NaN})");
  body = patched(body, R"("2024-01-08":{"USD":1.0946})", R"("2024-01-08":{})");
  body = patched(body, R"("2024-01-09":{"USD":1.094})",
                 R"("2024-01-09":{"USD":"1.094"})");
  price_series series;
  CAF_REQUIRE(!parse_frankfurter(body, series));
  CAF_CHECK_EQUAL(series.skipped_bars, 5);
  CAF_CHECK_EQUAL(
    day_rates(series),
    (std::vector<day_rate>{{"2024-01-02", 1.0956}, {"2024-01-10", 1.0946}}));
}

CAF_TEST(todays rate is left out while it may change) {
  price_series series;
  // 2024-01-10 15:00 UTC: the 10th is still today.
  CAF_REQUIRE(!parse_frankfurter(fixture("eur_usd.json"), series, 1704898800));
  CAF_CHECK_EQUAL(series.bars.size(), 6u);
  CAF_CHECK_EQUAL(iso_date(series.bars.back().day), "2024-01-09");
  CAF_CHECK_EQUAL(series.skipped_bars, 0);
  // The next day it is history.
  CAF_REQUIRE(!parse_frankfurter(fixture("eur_usd.json"), series, 1704931200));
  CAF_CHECK_EQUAL(series.bars.size(), 7u);
}

CAF_TEST(bodies that are not a time series are refused whole) {
  test::refused_bodies bodies{
    {"empty", ""},
    {"text", "Service Unavailable"},
    {"array", "[]"},
    {"truncated", fixture("eur_usd.json").substr(0, 120)},
    {"no rates", R"({"amount":1.0,"base":"EUR"})"},
    {"rates array", R"({"amount":1.0,"base":"EUR","rates":[]})"},
    {"no base", R"({"amount":1.0,"rates":{"2024-01-02":{"USD":1.1}}})"},
    {"other amount",
     R"({"amount":100.0,"base":"EUR","rates":{"2024-01-02":{"USD":110}}})"},
    {"bad date",
     R"({"amount":1.0,"base":"EUR","rates":{"2024-02-30":{"USD":1.1}}})"},
    {"time in key", R"({"amount":1.0,"base":"EUR","rates":)"
                    R"({"2024-01-02T00:00":{"USD":1.1}}})"},
    {"flat rates", R"({"amount":1.0,"base":"EUR","rates":{"USD":1.1}})"},
    {"two quotes", R"({"amount":1.0,"base":"EUR","rates":)"
                   R"({"2024-01-02":{"USD":1.1,"GBP":0.86}}})"},
    {"quote changes",
     R"({"amount":1.0,"base":"EUR","rates":)"
     R"({"2024-01-02":{"USD":1.1},"2024-01-03":{"GBP":0.86}}})"},
    {"not utf-8", "{\"amount\":1.0,\"base\":\"\xff\xfe\"}"},
    {"deep", std::string(100'000, '[')},
  };
  test::check_refused(bodies,
                      [](const std::string& body, price_series& series) {
                        return parse_frankfurter(body, series);
                      });
}

CAF_TEST(http answers are classified) {
  std::vector<test::classified_answer> answers{
    {"time series", answer(200, fixture("eur_usd.json")), ec::none},
    {"unknown currency", answer(404, fixture("not_found.json")),
     ec::symbol_not_found},
    {"proxy 404", answer(404, "<html>nope</html>", "text/html"),
     ec::provider_unavailable},
    {"other 404 json", answer(404, R"({"message":"gone"})"),
     ec::provider_unavailable},
    {"bad pair", answer(422, fixture("bad_pair.json")),
     ec::provider_unavailable},
    {"throttled", answer(429, "Too Many Requests", "text/plain"),
     ec::rate_limited},
    {"outage", answer(503, "<html>down</html>", "text/html"),
     ec::provider_unavailable},
    {"500", answer(500, ""), ec::provider_unavailable},
    {"html with 200",
     answer(200, "<!DOCTYPE html><html>checking your browser</html>",
            "text/html"),
     ec::malformed_response},
    {"html labelled json", answer(200, "\n <html>"), ec::malformed_response},
    {"garbage with 200", answer(200, "\x01\x02\x03"), ec::malformed_response},
    {"no rates", answer(200, R"({"amount":1.0,"base":"EUR","rates":{}})"),
     ec::no_data},
    {"only bad rates",
     answer(200,
            R"({"amount":1.0,"base":"EUR","rates":{"2024-01-02":{"USD":0}}})"),
     ec::no_data},
  };
  test::check_classified(
    answers,
    [](const http_response& response, price_series& series) {
      return decode_frankfurter_response(response, series);
    },
    [](const price_series& series) {
      CAF_CHECK_EQUAL(series.bars.size(), 7u);
    });
}

CAF_TEST(the fake servers answer parses) {
  // tests/fake_provider/test_fake_frankfurter.py checks that the fake still
  // sends exactly this, so the fake and the parser agree on the format.
  price_series series;
  CAF_REQUIRE(!decode_frankfurter_response(answer(200, fixture("from_fake."
                                                               "json")),
                                           series, 1704974400));
  CAF_CHECK_EQUAL(series.bars.size(), 7u); // 2024-01-11 is today
  CAF_CHECK_EQUAL(iso_date(series.bars.front().day), "2024-01-02");
  CAF_CHECK_EQUAL(iso_date(series.bars.back().day), "2024-01-10");
  CAF_CHECK_EQUAL(series.currency, "USD");
  CAF_CHECK_EQUAL(series.skipped_bars, 0);
}
