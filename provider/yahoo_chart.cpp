#include "provider/yahoo_chart.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include <curl/curl.h>
#include <date/date.h>
#include <rapidjson/document.h>

#include "policy/schedule.hpp"
#include "provider/trading_day.hpp"
#include "provider/wire.hpp"

namespace backfilld {

namespace {

using rapidjson::Value;

/// A week of slack before the earliest wanted day, so the series also holds
/// the last close before it (weekends, holidays).
constexpr day_number margin_days = 7;

/// The first element of an array member, e.g. `indicators.quote[0]`.
const Value* first_of(const Value& object, const char* key) {
  auto array = member(object, key);
  if (array == nullptr || !array->IsArray() || array->Empty())
    return nullptr;
  return &(*array)[0];
}

std::string string_member(const Value& object, const char* key) {
  auto x = member(object, key);
  return x != nullptr && x->IsString() ? x->GetString() : std::string{};
}

/// A price, or NaN for null and anything that is not a number.
double price_at(const Value& array, rapidjson::SizeType i) {
  const auto& x = array[i];
  return x.IsNumber() ? x.GetDouble() : std::nan("");
}

/// Checks that an indicator array exists and lines up with the timestamps.
fault check_series(const Value* array, const char* name, size_t expected) {
  if (array == nullptr || !array->IsArray())
    return malformed(std::string{"indicator "} + name + " is missing");
  if (array->Size() != expected)
    return malformed(std::string{"indicator "} + name + " has " +
                     std::to_string(array->Size()) + " values for " +
                     std::to_string(expected) + " timestamps");
  return {};
}

fault chart_error(const Value& error) {
  auto code = string_member(error, "code");
  auto description = string_member(error, "description");
  auto text = description.empty() ? code : description;
  if (code == "Not Found")
    return {ec::symbol_not_found, text};
  return {ec::provider_unavailable, "provider error: " + text};
}

struct quote_arrays {
  const Value* open = nullptr;
  const Value* high = nullptr;
  const Value* low = nullptr;
  const Value* close = nullptr;
  const Value* volume = nullptr;
  const Value* adj_close = nullptr;
};

fault find_quote_arrays(const Value& result, size_t n, quote_arrays& out) {
  auto indicators = member(result, "indicators");
  if (indicators == nullptr)
    return malformed("no indicators");
  auto quote = first_of(*indicators, "quote");
  if (quote == nullptr)
    return malformed("no indicators.quote");
  out.open = member(*quote, "open");
  out.high = member(*quote, "high");
  out.low = member(*quote, "low");
  out.close = member(*quote, "close");
  out.volume = member(*quote, "volume");
  for (auto [array, name] :
       {std::pair{out.open, "open"}, std::pair{out.high, "high"},
        std::pair{out.low, "low"}, std::pair{out.close, "close"},
        std::pair{out.volume, "volume"}})
    if (auto err = check_series(array, name, n))
      return err;
  // Some instruments come without adjusted closes; that is no reason to
  // refuse the bars.
  if (auto adj = first_of(*indicators, "adjclose"))
    if (auto values = member(*adj, "adjclose"); values != nullptr) {
      if (auto err = check_series(values, "adjclose", n))
        return err;
      out.adj_close = values;
    }
  return {};
}

price_bar read_bar(const quote_arrays& q, rapidjson::SizeType i) {
  price_bar bar;
  bar.open = price_at(*q.open, i);
  bar.high = price_at(*q.high, i);
  bar.low = price_at(*q.low, i);
  bar.close = price_at(*q.close, i);
  if (auto volume = volume_of((*q.volume)[i]))
    bar.volume = *volume;
  if (q.adj_close != nullptr) {
    auto adj = price_at(*q.adj_close, i);
    if (valid_price(adj))
      bar.adj_close = adj;
  }
  return bar;
}

/// The regular session `meta.currentTradingPeriod` names: today's while the
/// exchange's day lasts, the next one after it closes. Zeros when absent.
struct session {
  int64_t start = 0;
  int64_t end = 0;
};

session current_session(const Value& meta) {
  session result;
  auto period = member(meta, "currentTradingPeriod");
  auto regular = period != nullptr ? member(*period, "regular") : nullptr;
  if (regular == nullptr)
    return result;
  auto start = member(*regular, "start");
  auto end = member(*regular, "end");
  if (start != nullptr && start->IsInt64() && end != nullptr &&
      end->IsInt64()) {
    result.start = start->GetInt64();
    result.end = end->GetInt64();
  }
  return result;
}

/// Days an event may fall on (1900-01-01 to 2199-12-31): a date outside
/// them is garbage, and PostgreSQL would refuse the whole write for it.
constexpr day_number first_event_day = -25'567;
constexpr day_number last_event_day = 84'005;

/// A positive, finite number, or NaN.
double positive_member(const Value& object, const char* key) {
  auto x = member(object, key);
  if (x == nullptr || !x->IsNumber())
    return std::nan("");
  auto value = x->GetDouble();
  return std::isfinite(value) && value > 0 ? value : std::nan("");
}

/// One entry of `events.dividends` or `events.splits`, or nothing when a
/// value is missing, null, NaN or not positive. The entry's own `date` (the
/// ex-date's session open, like a bar's timestamp) dates it, not its key:
/// keys have been seen in other shapes than epoch strings.
std::optional<price_event> read_event(const Value& entry, event_kind kind,
                                      const exchange_calendar& calendar) {
  if (!entry.IsObject())
    return std::nullopt;
  auto date = member(entry, "date");
  if (date == nullptr || !date->IsInt64())
    return std::nullopt;
  price_event event;
  event.kind = kind;
  event.day = calendar.day_of(date->GetInt64());
  if (event.day < first_event_day || event.day > last_event_day)
    return std::nullopt;
  if (kind == event_kind::dividend) {
    event.amount = positive_member(entry, "amount");
    if (std::isnan(event.amount))
      return std::nullopt;
    return event;
  }
  event.numerator = positive_member(entry, "numerator");
  event.denominator = positive_member(entry, "denominator");
  // A 1:1 "split" changes nothing and would only trigger a rewrite.
  if (std::isnan(event.numerator) || std::isnan(event.denominator) ||
      event.numerator == event.denominator)
    return std::nullopt;
  return event;
}

/// Reads `events.dividends` and `events.splits` (objects keyed by epoch
/// strings) into `series.events`, sorted by day, one per day and kind: two
/// dividends going ex on one day add up, of two splits the later entry wins.
/// What cannot be read is skipped and counted; `events` is optional.
void read_events(const Value& result, const exchange_calendar& calendar,
                 price_series& series) {
  auto events = member(result, "events");
  if (events == nullptr || !events->IsObject())
    return;
  for (auto [key, kind] : {std::pair{"dividends", event_kind::dividend},
                           std::pair{"splits", event_kind::split}}) {
    auto group = member(*events, key);
    if (group == nullptr || !group->IsObject())
      continue;
    for (auto i = group->MemberBegin(); i != group->MemberEnd(); ++i) {
      if (auto event = read_event(i->value, kind, calendar))
        series.events.push_back(*event);
      else
        ++series.skipped_events;
    }
  }
  auto& xs = series.events;
  std::stable_sort(xs.begin(), xs.end(), [](const auto& a, const auto& b) {
    return std::tie(a.day, a.kind) < std::tie(b.day, b.kind);
  });
  std::vector<price_event> merged;
  for (const auto& x : xs) {
    if (merged.empty() || merged.back().day != x.day ||
        merged.back().kind != x.kind)
      merged.push_back(x);
    else if (x.kind == event_kind::split)
      merged.back() = x;
    else if (std::isfinite(merged.back().amount + x.amount))
      merged.back().amount += x.amount;
    else
      ++series.skipped_events;
  }
  xs = std::move(merged);
}

} // namespace

bool valid_range(std::string_view range) {
  for (auto known :
       {"1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"})
    if (range == known)
      return true;
  return false;
}

day_number range_start(std::string_view range, day_number today) {
  struct span {
    std::string_view name;
    day_number days;
  };
  // Generous by a day or two: asking for slightly more than the range
  // never hurts, asking for less would.
  static constexpr span spans[] = {{"1mo", 31},  {"3mo", 92}, {"6mo", 184},
                                   {"1y", 366},  {"2y", 731}, {"5y", 1827},
                                   {"10y", 3653}};
  for (const auto& s : spans)
    if (s.name == range)
      return today - s.days;
  if (range == "ytd") {
    // What Yahoo's "ytd" serves: from January 1st of today's (UTC) year.
    date::year_month_day ymd{date::sys_days{date::days{today}}};
    return static_cast<day_number>(
      date::sys_days{ymd.year() / date::January / 1}
        .time_since_epoch()
        .count());
  }
  return std::numeric_limits<day_number>::min() / 2; // "max"
}

chart_window window_for(const backfill_job& job, std::string_view range,
                        int64_t now, int32_t overlap) {
  chart_window result;
  auto today = utc_day(now);
  if (job.kind == job_kind::extend && job.want_from != no_day) {
    result.period1 = unix_seconds(job.want_from - margin_days);
    // A rewrite stores the whole history again, up to today.
    auto until = job.first_price != no_day && !job.rewrites_history()
                   ? job.first_price + 1
                   : today + 1;
    result.period2 = unix_seconds(until);
    return result;
  }
  if (job.kind == job_kind::refresh && job.last_price != no_day) {
    auto from = job.rewrites_history() && job.first_price != no_day
                  ? job.first_price - margin_days
                  : weekdays_before(job.last_price, std::max(overlap, 0));
    if (job.want_from != no_day)
      from = std::min(from, job.want_from);
    result.period1 = unix_seconds(from);
    result.period2 = now;
    return result;
  }
  // A backfill that asks for more than the configured range (`backfilld
  // backfill --range 5y`) reaches back to its `want_from` at least.
  if (job.kind == job_kind::backfill && job.want_from != no_day &&
      job.want_from < range_start(range, today) &&
      (job.first_transaction == no_day ||
       job.want_from < job.first_transaction)) {
    result.period1 = unix_seconds(job.want_from - margin_days);
    result.period2 = now;
    return result;
  }
  if (job.first_transaction != no_day &&
      job.first_transaction < range_start(range, today)) {
    result.period1 = unix_seconds(job.first_transaction - margin_days);
    result.period2 = now;
    return result;
  }
  result.range = std::string{range};
  return result;
}

std::string chart_url(std::string_view base_url, std::string_view ticker,
                      const chart_window& window) {
  std::string url{base_url};
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  url += "/v8/finance/chart/";
  url += percent_encode(ticker);
  if (!window.range.empty()) {
    url += "?range=" + window.range;
  } else {
    url += "?period1=" + std::to_string(window.period1);
    url += "&period2=" + std::to_string(window.period2);
  }
  // Dividends and splits come with the bars, in the same request.
  url += "&interval=1d&includeAdjustedClose=true&events=div,split";
  return url;
}

fault parse_chart(std::string_view body, price_series& out, int64_t now) {
  rapidjson::Document doc;
  // Yahoo has been seen to send bare NaN: parse_json accepts it, and the
  // bars holding it are skipped.
  if (!parse_json(body, doc))
    return not_json(doc);
  auto chart = member(doc, "chart");
  if (chart == nullptr || !chart->IsObject())
    return malformed("no chart object");
  if (auto error = member(*chart, "error"); error && error->IsObject())
    return chart_error(*error);
  auto result = first_of(*chart, "result");
  if (result == nullptr || !result->IsObject())
    return {ec::provider_unavailable, "chart.result is empty, without error"};
  auto meta = member(*result, "meta");
  if (meta == nullptr || !meta->IsObject())
    return malformed("no chart.result[0].meta");
  price_series series;
  series.source = "yahoo";
  series.symbol = string_member(*meta, "symbol");
  series.currency = string_member(*meta, "currency");
  series.exchange_timezone = string_member(*meta, "exchangeTimezoneName");
  int64_t gmtoffset = 0;
  if (auto x = member(*meta, "gmtoffset"); x && x->IsInt64())
    gmtoffset = x->GetInt64();
  exchange_calendar calendar{series.exchange_timezone, gmtoffset};
  read_events(*result, calendar, series);
  auto timestamps = member(*result, "timestamp");
  if (timestamps == nullptr) {
    // Yahoo's shape for a window without trading: meta only, no bars.
    out = std::move(series);
    return {};
  }
  if (!timestamps->IsArray())
    return malformed("timestamp is not an array");
  auto n = timestamps->Size();
  quote_arrays q;
  if (auto err = find_quote_arrays(*result, n, q))
    return err;
  series.bars.reserve(n);
  for (rapidjson::SizeType i = 0; i < n; ++i) {
    const auto& ts = (*timestamps)[i];
    if (!ts.IsInt64())
      return malformed("timestamp " + std::to_string(i) + " is not an integer");
    auto bar = read_bar(q, i);
    if (!valid_price(bar.open) || !valid_price(bar.high) ||
        !valid_price(bar.low) || !valid_price(bar.close)) {
      ++series.skipped_bars;
      continue;
    }
    bar.day = calendar.day_of(ts.GetInt64());
    series.bars.push_back(bar);
  }
  keep_last_per_day(series.bars);
  if (auto open = current_session(*meta);
      now > 0 && open.end > 0 && !series.bars.empty() &&
      series.bars.back().day == calendar.day_of(open.start) && now < open.end)
    series.bars.pop_back(); // Today's bar, still moving: not history yet.
  out = std::move(series);
  return {};
}

fault decode_chart_response(const http_response& response, price_series& out,
                            int64_t now) {
  switch (response.status) {
  case 200: {
    if (looks_like_html(response))
      return malformed("HTTP 200 with an HTML page instead of JSON");
    if (auto err = parse_chart(response.body, out, now))
      return err;
    return require_bars(out, "bar");
  }
  case 404: {
    // Only Yahoo's own "Not Found" answer is final. Any other 404 (a wrong
    // base URL, a proxy's page, a moved endpoint) must not fail assets for
    // good.
    if (auto err = parse_chart(response.body, out);
        err.code == ec::symbol_not_found)
      return err;
    return {ec::provider_unavailable,
            "HTTP 404 without the provider's not-found answer"};
  }
  default:
    // 401/403 (Yahoo's cookie walls) and other surprises: worth a retry.
    return unexpected_status(response.status);
  }
}

} // namespace backfilld
