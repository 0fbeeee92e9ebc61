// Frankfurter's exchange rates (ECB reference rates, keyless, self-hostable):
// what to ask for and how to read the answer. See provider/PROVIDERS.md.
//
// Request:  {base}/v1/{start}..{end}?base=EUR&symbols=USD
// Response: {"amount":1.0,"base":"EUR","start_date":"2024-01-02",
//            "end_date":"2024-01-05","rates":{"2024-01-02":{"USD":1.0956},…}}
//           working days only; a window without any rate, or an unknown
//           currency, is HTTP 404 {"message":"not found"}.
//
// One rate a day, no OHLC: a bar carries the rate as `close` and
// `adj_close`; `open`, `high` and `low` are -1 (absent: the writer stores
// NULL for any value that is not positive) and `volume` is -1.

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "messages/ec.hpp"
#include "messages/types.hpp"
#include "provider/wire.hpp"

namespace backfilld {

/// A currency pair: how many `quote` units one `base` unit buys.
struct fx_pair {
  /// ISO 4217 code, upper case, e.g. "EUR".
  std::string base;
  /// ISO 4217 code, upper case, e.g. "USD".
  std::string quote;
};

/// Reads the tracker's FX symbol: `EURUSD=X`, `EURUSD`, `EUR/USD`, `EUR-USD`
/// (any case), and Yahoo's `JPY=X` shorthand for USD/JPY. Anything else, or
/// a pair of one currency with itself, is `invalid_symbol`.
fault frankfurter_pair(std::string_view symbol, fx_pair& out);

/// The time series request for days `from` to `to` (inclusive). A window
/// shorter than a week is widened back to one, so that it always holds a
/// working day: then a 404 means an unknown currency, not a holiday.
provider_request frankfurter_request(std::string_view base_url,
                                     const fx_pair& pair, day_number from,
                                     day_number to);

/// Reads a time series body. The answer names its own pair: `base`, and
/// one quote currency per day (the request asks for one), so the series is
/// "BASE/QUOTE" with `currency` the quote. A rate that is not a positive
/// number is skipped and counted; a body that is not the time series shape,
/// or that holds several quotes or changes quote between days, is refused
/// whole. With `now` (Unix seconds), a rate dated today (UTC) or later is
/// left out: Frankfurter says today's data may still change.
fault parse_frankfurter(std::string_view body, price_series& out,
                        int64_t now = 0);

/// Classifies a whole HTTP answer: 200 with the time series gives a series;
/// 404 with Frankfurter's {"message":"not found"} `symbol_not_found` (any
/// other 404 `provider_unavailable`); 429 `rate_limited`; 5xx and other
/// statuses `provider_unavailable`; an HTML page or garbage
/// `malformed_response`; zero usable rates `no_data`.
fault decode_frankfurter_response(const http_response& response,
                                  price_series& out, int64_t now = 0);

} // namespace backfilld
