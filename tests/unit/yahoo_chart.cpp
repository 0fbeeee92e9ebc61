#define CAF_SUITE yahoo_chart
#include <caf/test/unit_test.hpp>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "provider/trading_day.hpp"
#include "provider/yahoo_chart.hpp"
#include "test_data.hpp"

using namespace backfilld;

namespace {

std::string fixture(const std::string& name) {
  return test::test_data("yahoo/" + name);
}

price_series parse_ok(const std::string& name) {
  price_series series;
  auto f = parse_chart(fixture(name), series);
  if (f)
    CAF_FAIL(name << ": " << f.detail);
  return series;
}

/// (date, close) pairs; closes are float32 values widened to double, so
/// they are compared at float precision (exact for the quoted values).
using day_close = std::pair<std::string, float>;

std::vector<day_close> day_closes(const price_series& series) {
  std::vector<day_close> result;
  for (const auto& bar : series.bars)
    result.emplace_back(iso_date(bar.day), static_cast<float>(bar.close));
  return result;
}

void check_bars(const std::string& name, std::vector<day_close> expected) {
  auto series = parse_ok(name);
  CAF_CHECK_EQUAL(day_closes(series), expected);
}

ec decode(int status, const std::string& body,
          std::string content_type = "application/json;charset=utf-8") {
  http_response response;
  response.status = status;
  response.body = body;
  response.content_type = std::move(content_type);
  price_series series;
  return decode_chart_response(response, series).code;
}

} // namespace

namespace std {

ostream& operator<<(ostream& out, const day_close& x) {
  return out << x.first << " " << x.second;
}

} // namespace std

CAF_TEST(new york bars across the DST change) {
  check_bars("aapl_1d.json", {{"2024-03-06", 169.12f},
                              {"2024-03-07", 169.00f},
                              {"2024-03-08", 170.73f},
                              {"2024-03-11", 172.75f},
                              {"2024-03-12", 173.23f}});
  auto series = parse_ok("aapl_1d.json");
  CAF_CHECK_EQUAL(series.symbol, "AAPL");
  CAF_CHECK_EQUAL(series.currency, "USD");
  CAF_CHECK_EQUAL(series.exchange_timezone, "America/New_York");
  CAF_CHECK_EQUAL(series.source, "yahoo");
  CAF_CHECK_EQUAL(series.skipped_bars, 0);
  CAF_CHECK_EQUAL(series.bars.front().volume, 68587700);
  CAF_CHECK(series.bars.front().has_adj_close());
  CAF_CHECK_LESS(series.bars.front().adj_close, series.bars.front().close);
}

CAF_TEST(null bars are skipped and a null volume alone is kept) {
  check_bars("aapl_nulls.json", {{"2024-03-06", 169.12f},
                                 {"2024-03-07", 169.00f},
                                 {"2024-03-11", 172.75f},
                                 {"2024-03-12", 173.23f}});
  auto series = parse_ok("aapl_nulls.json");
  CAF_CHECK_EQUAL(series.skipped_bars, 1);
  CAF_CHECK(!series.bars[2].has_volume());
  CAF_CHECK(series.bars[3].has_volume());
}

CAF_TEST(crypto trades seven days a week) {
  check_bars("btc_usd.json", {{"2024-03-07", 66925.48f},
                              {"2024-03-08", 68300.09f},
                              {"2024-03-09", 68498.88f},
                              {"2024-03-10", 69019.79f},
                              {"2024-03-11", 72123.91f},
                              {"2024-03-12", 71481.29f},
                              {"2024-03-13", 73083.50f}});
}

CAF_TEST(fx bars are dated by the zone and not by gmtoffset) {
  check_bars("eurusd_x.json", {{"2024-03-28", 1.0829f},
                               {"2024-03-29", 1.0790f},
                               {"2024-04-01", 1.0788f},
                               {"2024-04-02", 1.0740f}});
  auto series = parse_ok("eurusd_x.json");
  CAF_CHECK_EQUAL(series.bars.front().volume, 0);
}

CAF_TEST(sydney sessions open on the previous utc day) {
  check_bars(
    "bhp_ax.json",
    {{"2024-01-08", 50.88f}, {"2024-01-09", 50.41f}, {"2024-01-10", 49.96f}});
  CAF_CHECK_EQUAL(parse_ok("bhp_ax.json").currency, "AUD");
}

CAF_TEST(london quotes stay in pence) {
  check_bars(
    "vod_l.json",
    {{"2024-03-27", 68.96f}, {"2024-03-28", 70.46f}, {"2024-04-02", 70.16f}});
  CAF_CHECK_EQUAL(parse_ok("vod_l.json").currency, "GBp");
}

CAF_TEST(the later bar of a day wins) {
  check_bars("duplicate_day.json",
             {{"2024-03-11", 172.75f}, {"2024-03-12", 173.41f}});
}

CAF_TEST(instruments without adjusted closes) {
  check_bars("no_adjclose.json", {{"2024-03-06", 5104.76f},
                                  {"2024-03-07", 5157.36f},
                                  {"2024-03-08", 5123.69f}});
  for (const auto& bar : parse_ok("no_adjclose.json").bars)
    CAF_CHECK(!bar.has_adj_close());
}

CAF_TEST(a window without trading has no bars and is no error) {
  auto series = parse_ok("no_timestamps.json");
  CAF_CHECK(series.bars.empty());
  CAF_CHECK_EQUAL(decode(200, fixture("no_timestamps.json")), ec::no_data);
}

CAF_TEST(refused bodies) {
  price_series series;
  auto not_found = parse_chart(fixture("not_found.json"), series);
  CAF_CHECK_EQUAL(not_found.code, ec::symbol_not_found);
  CAF_CHECK_EQUAL(not_found.detail, "No data found, symbol may be delisted");
  CAF_CHECK_EQUAL(parse_chart(fixture("result_null.json"), series).code,
                  ec::provider_unavailable);
  auto mismatched = parse_chart(fixture("mismatched.json"), series);
  CAF_CHECK_EQUAL(mismatched.code, ec::malformed_response);
  CAF_CHECK(mismatched.detail.find("close has 3 values for 4") !=
            std::string::npos);
  CAF_CHECK_EQUAL(parse_chart("Service Unavailable", series).code,
                  ec::malformed_response);
  CAF_CHECK_EQUAL(parse_chart("", series).code, ec::malformed_response);
  auto whole = fixture("aapl_1d.json");
  CAF_CHECK_EQUAL(parse_chart(whole.substr(0, whole.size() / 2), series).code,
                  ec::malformed_response);
  CAF_CHECK_EQUAL(parse_chart(R"({"chart": 1})", series).code,
                  ec::malformed_response);
  CAF_CHECK_EQUAL(parse_chart(R"({"chart":{"result":[{"meta":{},)"
                              R"("timestamp":[1],"indicators":{}}]}})",
                              series)
                    .code,
                  ec::malformed_response);
}

CAF_TEST(nan and negative prices are skipped) {
  auto body = fixture("aapl_1d.json");
  // Yahoo has sent bare NaN; a negative close is as bad.
  auto replace = [&](const std::string& from, const std::string& to) {
    auto pos = body.find(from);
    CAF_REQUIRE(pos != std::string::npos);
    body.replace(pos, from.size(), to);
  };
  replace("169.1199951171875", "NaN");
  replace("170.72999572753906,172.75", "-170.73,172.75");
  price_series series;
  CAF_REQUIRE(!parse_chart(body, series));
  CAF_CHECK_EQUAL(series.skipped_bars, 2);
  CAF_CHECK_EQUAL(series.bars.size(), 3u);
}

CAF_TEST(http answers are classified) {
  auto good = fixture("aapl_1d.json");
  CAF_CHECK_EQUAL(decode(200, good), ec::none);
  CAF_CHECK_EQUAL(decode(404, fixture("not_found.json")), ec::symbol_not_found);
  // Only Yahoo's own answer is final; a proxy's 404 page is not.
  CAF_CHECK_EQUAL(decode(404, "<html>nope</html>", "text/html"),
                  ec::provider_unavailable);
  CAF_CHECK_EQUAL(decode(429, "Too Many Requests", "text/plain"),
                  ec::rate_limited);
  CAF_CHECK_EQUAL(decode(503, "<html>down</html>", "text/html"),
                  ec::provider_unavailable);
  CAF_CHECK_EQUAL(decode(500, ""), ec::provider_unavailable);
  CAF_CHECK_EQUAL(decode(403, ""), ec::provider_unavailable);
  CAF_CHECK_EQUAL(decode(200, "<!DOCTYPE html><html></html>", "text/html"),
                  ec::malformed_response);
  CAF_CHECK_EQUAL(decode(200, "  <html>", "application/json"),
                  ec::malformed_response);
}

CAF_TEST(bodies nested deep are refused without exhausting the stack) {
  price_series series;
  auto deep = std::string(1'000'000, '[');
  CAF_CHECK_EQUAL(parse_chart(deep, series).code, ec::malformed_response);
  CAF_CHECK_EQUAL(parse_chart("{\"chart\": \"\xff\xfe\"}", series).code,
                  ec::malformed_response);
}

CAF_TEST(the bar of a session still open is left out) {
  // Fetched after the close of 2024-03-12, Yahoo names the next session
  // (03-13, 13:30 to 20:00 UTC): the last bar is final.
  auto after_close = fixture("aapl_1d.json");
  price_series settled;
  CAF_REQUIRE(!parse_chart(after_close, settled, 1710280800)); // 22:00 UTC
  CAF_CHECK_EQUAL(settled.bars.size(), 5u);
  // Fetched at 18:00 UTC during that session, Yahoo names it instead.
  auto during_session = after_close;
  auto replace = [&](const std::string& from, const std::string& to) {
    auto pos = during_session.find(from);
    CAF_REQUIRE(pos != std::string::npos);
    during_session.replace(pos, from.size(), to);
  };
  replace(R"("regular":{"timezone":"EDT","end":1710360000,"start":1710336600)",
          R"("regular":{"timezone":"EDT","end":1710273600,"start":1710250200)");
  price_series live;
  CAF_REQUIRE(!parse_chart(during_session, live, 1710266400));
  CAF_CHECK_EQUAL(live.bars.size(), 4u);
  CAF_CHECK_EQUAL(iso_date(live.bars.back().day), "2024-03-11");
  // Without a clock (tests, tools) nothing is left out.
  price_series all;
  CAF_REQUIRE(!parse_chart(during_session, all));
  CAF_CHECK_EQUAL(all.bars.size(), 5u);
}

CAF_TEST(chart urls encode the ticker) {
  chart_window range;
  range.range = "1y";
  CAF_CHECK_EQUAL(chart_url("http://127.0.0.1:8080/", "AMD", range),
                  "http://127.0.0.1:8080/v8/finance/chart/AMD?range=1y"
                  "&interval=1d&includeAdjustedClose=true&events=div,split");
  CAF_CHECK_EQUAL(chart_url("https://q", "EURUSD=X", range),
                  "https://q/v8/finance/chart/EURUSD%3DX?range=1y"
                  "&interval=1d&includeAdjustedClose=true&events=div,split");
  CAF_CHECK_EQUAL(chart_url("https://q", "^GSPC", range),
                  "https://q/v8/finance/chart/%5EGSPC?range=1y"
                  "&interval=1d&includeAdjustedClose=true&events=div,split");
  chart_window periods;
  periods.period1 = 100;
  periods.period2 = 200;
  CAF_CHECK_EQUAL(chart_url("https://q", "M&M.NS", periods),
                  "https://q/v8/finance/chart/M%26M.NS?period1=100"
                  "&period2=200&interval=1d&includeAdjustedClose=true"
                  "&events=div,split");
}

CAF_TEST(the window reaches back to old transactions) {
  auto now = unix_seconds(20'000) + 3600; // 2024-10-04 01:00 UTC
  backfill_job job;
  job.first_transaction = 20'000 - 30;
  auto recent = window_for(job, "1y", now);
  CAF_CHECK_EQUAL(recent.range, "1y");
  job.first_transaction = 20'000 - 1000;
  auto old = window_for(job, "1y", now);
  CAF_CHECK(old.range.empty());
  CAF_CHECK_EQUAL(old.period1, unix_seconds(20'000 - 1007));
  CAF_CHECK_EQUAL(old.period2, now);
  CAF_CHECK_EQUAL(window_for(job, "max", now).range, "max");
  job.kind = job_kind::extend;
  job.want_from = 19'000;
  job.first_price = 19'500;
  auto gap = window_for(job, "1y", now);
  CAF_CHECK(gap.range.empty());
  CAF_CHECK_EQUAL(gap.period1, unix_seconds(19'000 - 7));
  CAF_CHECK_EQUAL(gap.period2, unix_seconds(19'501));
  CAF_CHECK(valid_range("1y"));
  CAF_CHECK(!valid_range("1 year"));
}

CAF_TEST(a backfill asked for a longer range reaches back to its want_from) {
  auto now = unix_seconds(20'000) + 3600;
  backfill_job job;
  job.want_from = 20'000 - 1827; // `backfilld backfill --range 5y`
  auto longer = window_for(job, "1y", now);
  CAF_CHECK(longer.range.empty());
  CAF_CHECK_EQUAL(longer.period1, unix_seconds(20'000 - 1834));
  CAF_CHECK_EQUAL(longer.period2, now);
  // An older transaction wins; a want_from inside the range changes nothing.
  job.first_transaction = 20'000 - 3000;
  CAF_CHECK_EQUAL(window_for(job, "1y", now).period1,
                  unix_seconds(20'000 - 3007));
  job.first_transaction = no_day;
  job.want_from = 20'000 - 100;
  CAF_CHECK_EQUAL(window_for(job, "1y", now).range, "1y");
}
