// How long the pure parsers take: a year of daily bars, and a notification.
// Google Benchmark; see bench/README.md for figures and the command.

#include <string>

#include <benchmark/benchmark.h>

#include "notify/notification.hpp"
#include "provider/yahoo_chart.hpp"

namespace {

/// A year of weekday bars in Yahoo's wire format (New York, 09:30 open).
std::string year_of_bars() {
  std::string ts, open, high, low, close, volume, adj;
  int64_t t = 1709735400; // 2024-03-06 14:30 UTC
  for (int i = 0; i < 261; ++i, t += 86400) {
    auto sep = i == 0 ? "" : ",";
    auto price = std::to_string(150 + i % 17) + ".1199951171875";
    ts += sep + std::to_string(t);
    open += sep + price;
    high += sep + price;
    low += sep + price;
    close += sep + price;
    adj += sep + price;
    volume += sep + std::to_string(60000000 + i);
  }
  return R"({"chart":{"result":[{"meta":{"currency":"USD","symbol":"AMD",)"
         R"("exchangeTimezoneName":"America/New_York","gmtoffset":-14400},)"
         R"("timestamp":[)" +
         ts + R"(],"indicators":{"quote":[{"open":[)" + open + R"(],"high":[)" +
         high + R"(],"low":[)" + low + R"(],"close":[)" + close +
         R"(],"volume":[)" + volume + R"(]}],"adjclose":[{"adjclose":[)" + adj +
         R"(]}]}}],"error":null}})";
}

void parse_year_of_bars(benchmark::State& state) {
  auto body = year_of_bars();
  for (auto _ : state) {
    backfilld::price_series series;
    auto f = backfilld::parse_chart(body, series);
    benchmark::DoNotOptimize(f);
    benchmark::DoNotOptimize(series.bars.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
}
BENCHMARK(parse_year_of_bars);

void parse_notification(benchmark::State& state) {
  std::string payload = R"({"asset_id": 12, "transaction_id": 99,)"
                        R"( "portfolio_id": 1})";
  for (auto _ : state) {
    backfilld::asset_seen seen;
    auto f = backfilld::parse_notification(payload, seen);
    benchmark::DoNotOptimize(f);
    benchmark::DoNotOptimize(seen);
  }
}
BENCHMARK(parse_notification);

} // namespace
