#include "policy/fetch_outcome.hpp"

#include <algorithm>

#include "provider/provider.hpp"
#include "provider/yahoo_chart.hpp"

namespace backfilld {

namespace {

fetch_outcome failed(failure_kind kind, const fault& f) {
  fetch_outcome result;
  result.what = fetch_result::failure;
  result.failure = job_failure{kind, to_string(f.code) + (": " + f.detail), 0};
  return result;
}

std::chrono::milliseconds pause_for(const char* provider,
                                    const http_response& response,
                                    const classify_settings& settings) {
  if (response.retry_after_s < 0) {
    auto i = settings.provider_throttle_pause.find(provider);
    return i != settings.provider_throttle_pause.end()
             ? i->second
             : settings.throttle_pause;
  }
  auto told = std::clamp<int64_t>(response.retry_after_s,
                                  settings.min_retry_after.count(),
                                  settings.max_retry_after.count());
  return std::chrono::seconds{told};
}

} // namespace

fetch_outcome classify(const backfill_job& job, const http_response& response,
                       int64_t now, const classify_settings& settings) {
  static const auto yahoo = make_provider("yahoo", provider_settings{});
  return classify(*yahoo, job, response, now, settings);
}

fetch_outcome classify(const price_provider& provider, const backfill_job& job,
                       const http_response& response, int64_t now,
                       const classify_settings& settings) {
  price_series series;
  auto f = provider.decode(job, response, now, series);
  fetch_outcome result;
  switch (f.code) {
  case ec::none:
    result.what = fetch_result::series;
    break;
  case ec::rate_limited:
    result.what = fetch_result::pause;
    result.pause = pause_for(provider.name(), response, settings);
    result.failure =
      job_failure{failure_kind::throttled, f.detail, result.pause.count()};
    break;
  case ec::symbol_not_found:
    result = failed(failure_kind::permanent, f);
    break;
  case ec::no_data:
    if (job.kind == job_kind::extend && !job.rewrites_history()) {
      // Nothing older exists (the listing date): settled, never asked
      // again for this day. (A rewrite asks up to today: no data there is
      // trouble, retried like a backfill's.)
      result.what = fetch_result::settled;
      result.note = "The provider has no history of " + job.symbol +
                    " before " + iso_date(job.first_price);
      break;
    }
    result = failed(failure_kind::transient, f);
    break;
  default:
    result = failed(failure_kind::transient, f);
  }
  result.code = f.code;
  result.series = std::move(series);
  return result;
}

const char* to_string(fetch_result x) {
  switch (x) {
  case fetch_result::series:
    return "series";
  case fetch_result::failure:
    return "failure";
  case fetch_result::pause:
    return "pause";
  case fetch_result::settled:
    return "settled";
  }
  return "unknown";
}

} // namespace backfilld
