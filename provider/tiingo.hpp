// Tiingo's end-of-day prices (US stocks, ETFs, mutual funds; free key):
// what to ask for and how to read the answer. See provider/PROVIDERS.md.
//
// Request:  {base}/tiingo/daily/{ticker}/prices?startDate=…&endDate=…
//           with the header `Authorization: Token {key}`.
// Response: [{"date":"2024-02-09T00:00:00.000Z","close":…,"high":…,"low":…,
//             "open":…,"volume":…,"adjClose":…,"adjHigh":…,"adjLow":…,
//             "adjOpen":…,"adjVolume":…,"divCash":0.24,"splitFactor":1.0},
//            …]; `[]` for a window without trading. Unknown ticker: HTTP
//           404 {"detail":"Error: Ticker 'XYZ' not found"}.
//
// Bars keep the raw prices, as Yahoo's do, with `adjClose` as `adj_close`;
// the day is the date part of `date` (the exchange's trading day).
// Dividends and splits come out separately (`tiingo_event`).

#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "messages/ec.hpp"
#include "messages/types.hpp"
#include "provider/wire.hpp"

namespace backfilld {

/// A corporate action on one day, as Tiingo reports it with the bar.
struct tiingo_event {
  day_number day = no_day;
  /// Cash dividend per share going ex on this day; 0 when none.
  double dividend = 0;
  /// Shares after the split per share before it (10 for 10-for-1); 1 when
  /// none.
  double split_factor = 1;
};

/// Maps the tracker's (Yahoo-style) stock symbol to a Tiingo ticker: upper
/// case letters, digits and `-` (share classes, `BRK-B`). A Yahoo exchange
/// suffix (`VOD.L`) or an index (`^GSPC`) is `symbol_not_found`: Tiingo's
/// daily prices cover US and Chinese listings, so the chain moves on. Other
/// characters are `invalid_symbol`.
fault tiingo_ticker(std::string_view symbol, std::string& out);

/// The request for days `from` to `to` (inclusive), with the key in the
/// Authorization header (never in the URL, which ends up in logs).
provider_request tiingo_request(std::string_view base_url,
                                std::string_view ticker, day_number from,
                                day_number to, std::string_view api_key);

/// Reads a daily prices body. Bars whose open, high, low or close is null,
/// NaN or not positive are skipped and counted; a body that is not an array
/// of price objects with dates is refused whole. With `events`, days with a
/// dividend or a split are appended to it. With `now` (Unix seconds), a bar
/// is only kept once its day is over in New York with a margin for
/// Tiingo's evening corrections (01:00 UTC the next day).
fault parse_tiingo(std::string_view body, price_series& out,
                   std::vector<tiingo_event>* events = nullptr,
                   int64_t now = 0);

/// Classifies a whole HTTP answer: 200 with prices gives a series
/// (`currency` "USD": Tiingo quotes US listings in dollars; `symbol` stays
/// empty, Tiingo does not echo it); 404 with Tiingo's "not found" detail
/// `symbol_not_found` (any other 404 `provider_unavailable`); 429
/// `rate_limited`; 401/403 (key) and 5xx `provider_unavailable` with
/// Tiingo's detail; an HTML page or garbage `malformed_response`; zero
/// usable bars `no_data`.
fault decode_tiingo_response(const http_response& response, price_series& out,
                             int64_t now = 0,
                             std::vector<tiingo_event>* events = nullptr);

} // namespace backfilld
