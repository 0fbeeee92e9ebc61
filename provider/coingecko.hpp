// CoinGecko's coin history (crypto; keyless with low limits, or a free demo
// key): what to ask for and how to read the answer. See provider/PROVIDERS.md.
//
// Request:  {base}/api/v3/coins/{id}/market_chart/range
//             ?vs_currency=usd&from={unix s}&to={unix s}
//           header `x-cg-demo-api-key` when a demo key is configured.
// Response: {"prices":[[ms, price], …],"market_caps":[[ms, cap], …],
//            "total_volumes":[[ms, volume], …]}; granularity is automatic:
//           daily snapshots at 00:00 UTC for windows over 90 days, hourly
//           below, and the last point is the live price at request time.
//           Unknown coin: HTTP 404 {"error":"coin not found"}.
//
// One UTC day per bar, close only: the last snapshot of the day, where a
// snapshot taken at midnight closes the day before (that is what Yahoo's
// BTC-USD close means). open/high/low are -1 (absent, stored as NULL),
// `adj_close` is the close, `volume` the 24-hour volume in the quote
// currency when one is sent for the same instant.

#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "messages/ec.hpp"
#include "messages/types.hpp"
#include "provider/wire.hpp"

namespace backfilld {

/// Ticker (upper case) → CoinGecko coin id, e.g. "BTC" → "bitcoin".
using coin_id_table = std::map<std::string, std::string>;

/// The built-in table: the largest coins by market value.
const coin_id_table& coingecko_default_ids();

/// The built-in table with `extra` on top (config wins; its tickers are
/// upper-cased). Ids must be CoinGecko API ids: lower-case letters, digits
/// and `-`; others are refused with `invalid_config`.
fault coingecko_ids(const coin_id_table& extra, coin_id_table& out);

/// What to ask CoinGecko for.
struct coin_ref {
  /// API id, e.g. "bitcoin".
  std::string id;
  /// Lower case, e.g. "usd".
  std::string vs_currency = "usd";
};

/// Maps the tracker's crypto symbol through `table`: `BTC` asks for
/// bitcoin in USD; `BTC-EUR` (Yahoo style) for bitcoin in EUR. A ticker the
/// table does not know is `symbol_not_found` (the chain moves on); a symbol
/// with characters no ticker has is `invalid_symbol`.
fault coingecko_coin(std::string_view symbol, const coin_id_table& table,
                     coin_ref& out);

/// The oldest day the keyless and demo plans serve at time `now`: they
/// refuse anything older than 365 days with HTTP 401 (error 10012), so
/// requests stop a day short of that.
day_number coingecko_oldest_day(int64_t now);

/// The request for days `from` to `to` (inclusive) at time `now` (Unix
/// seconds). `from` is clamped to `coingecko_oldest_day(now)`, so a longer
/// window yields only its last year, and `out.shortfall` says so; a window
/// shorter than 92 days is widened back to 92 (within that clamp) so that
/// CoinGecko answers with daily snapshots. A window that ends before the
/// oldest day cannot be served at all: `history_limit`, and no request.
/// `demo_key` may be empty.
fault coingecko_request(std::string_view base_url, const coin_ref& coin,
                        day_number from, day_number to, int64_t now,
                        std::string_view demo_key, provider_request& out);

/// Reads a market chart body into daily bars (see the file comment). A
/// price that is null, NaN or not positive is skipped and counted; a body
/// that is not the market chart shape is refused whole. With `now` (Unix
/// seconds), today's bar (the live price) is left out.
fault parse_coingecko(std::string_view body, price_series& out,
                      int64_t now = 0);

/// Classifies a whole HTTP answer for `coin`: 200 with a market chart gives
/// a series (`symbol` the coin id, `currency` the upper-cased vs currency);
/// 404 {"error":"coin not found"} `symbol_not_found`; 429 `rate_limited`;
/// 401/403 (bad key, a window beyond the plan) and 5xx
/// `provider_unavailable` with CoinGecko's message; an HTML page or garbage
/// `malformed_response`; zero usable prices `no_data`.
fault decode_coingecko_response(const http_response& response,
                                price_series& out, int64_t now = 0,
                                const coin_ref& coin = {});

} // namespace backfilld
