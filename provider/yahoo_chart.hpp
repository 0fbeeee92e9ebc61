// Yahoo Finance's chart API (v8): what to ask for and how to read the answer.
//
// Request:  {base}/v8/finance/chart/{SYMBOL}?range=1y&interval=1d
//           &events=div,split (or period1/period2 in Unix seconds for older
//           history).
// Response: chart.result[0] with meta, timestamp[], indicators.quote[0].
//           {open,high,low,close,volume}[] and
//           indicators.adjclose[0].adjclose[], events.{dividends,splits};
//           or chart.error, e.g. 404 "No data found, symbol may be
//           delisted".

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "messages/ec.hpp"
#include "messages/types.hpp"

namespace backfilld {

/// Which stretch of history to ask for: a named range, or explicit bounds.
struct chart_window {
  /// Yahoo's range name ("1y"); empty when the periods apply.
  std::string range;
  /// Unix seconds, inclusive.
  int64_t period1 = 0;
  /// Unix seconds, exclusive.
  int64_t period2 = 0;
};

/// Whether Yahoo knows this range name (1mo … 10y, ytd, max).
bool valid_range(std::string_view range);

/// The first day a named range covers, counted back from `today`.
day_number range_start(std::string_view range, day_number today);

/// The window a job needs at time `now` (Unix seconds): the configured range,
/// or back to the earliest transaction (with a week's margin) when that is
/// older (or than a backfill's `want_from`); for an `extend` job, from its
/// target up to the first stored price (up to now for a rewrite). A `refresh`
/// asks from its last stored day minus `overlap` weekdays (late corrections)
/// up to now, or from the last stored day before a hole when that is earlier
/// (`want_from`); a refresh's rewrite asks from the first stored day.
chart_window window_for(const backfill_job& job, std::string_view range,
                        int64_t now, int32_t overlap = 5);

/// The chart URL for a ticker; the ticker is percent-encoded.
std::string chart_url(std::string_view base_url, std::string_view ticker,
                      const chart_window& window);

/// Reads a chart JSON body into a series. Bars with a null, NaN or
/// non-positive price are skipped and counted; when several bars fall on one
/// trading day the last one wins (Yahoo appends the live bar). Dividends and
/// splits go to `events`, dated like the bars; an event with a null, NaN or
/// non-positive value (a zero denominator) is skipped and counted. A body that
/// is not chart JSON, or whose arrays disagree in length, is refused whole;
/// `chart.error` becomes `symbol_not_found` ("Not Found") or
/// `provider_unavailable`. A window without trading is zero bars, no error.
///
/// With `now` (Unix seconds), today's bar is left out while the session that
/// `meta.currentTradingPeriod` names is still open: its values keep moving,
/// and a backfill stores history.
fault parse_chart(std::string_view body, price_series& out, int64_t now = 0);

/// Classifies a whole HTTP answer: 200 with chart JSON gives a series;
/// Yahoo's 404 "Not Found" gives `symbol_not_found` (any other 404 is
/// `provider_unavailable`), 429 `rate_limited`, 5xx `provider_unavailable`,
/// an HTML page or garbage `malformed_response`, zero usable bars `no_data`.
fault decode_chart_response(const http_response& response, price_series& out,
                            int64_t now = 0);

} // namespace backfilld
