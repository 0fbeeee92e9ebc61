// What one provider answer means for its job: the one place that decides it.
//
// The fetcher hands every HTTP answer to `classify` and acts on the result;
// the job queue then turns a failure into the row's next state (`decide` in
// policy/verdict.hpp). Pure: the time comes in as an argument, from the
// actor's clock, so that the deterministic tests control it.

#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "messages/ec.hpp"
#include "messages/types.hpp"

namespace backfilld {

struct classify_settings {
  /// How long the provider gets no requests after a 429 that came without a
  /// `Retry-After`.
  std::chrono::milliseconds throttle_pause{60'000};
  /// `<provider>.throttle-pause` by provider name; a provider missing here
  /// pauses for `throttle_pause`.
  std::map<std::string, std::chrono::milliseconds> provider_throttle_pause;
  /// Bounds on a `Retry-After`: zero must still pause, and a proxy's absurd
  /// value must not stop fetching for days.
  std::chrono::seconds min_retry_after{1};
  std::chrono::seconds max_retry_after{3'600};
};

/// The four things an answer can mean.
enum class fetch_result : uint8_t {
  /// A series to store.
  series,
  /// The attempt failed; `failure` says how (transient or permanent).
  failure,
  /// The provider asks everyone to slow down: pause it for `pause`, and the
  /// job waits as long without losing its attempt.
  pause,
  /// Nothing to store and nothing to retry (an extension reached the start
  /// of the provider's history): the job is done.
  settled,
};

struct fetch_outcome {
  fetch_result what = fetch_result::failure;
  /// With `series`; its `skipped_bars` is set whatever the result.
  price_series series;
  /// With `failure` and `pause`.
  job_failure failure;
  /// With `pause`.
  std::chrono::milliseconds pause{0};
  /// With `settled`: why nothing is stored, for the log.
  std::string note;
  /// What the decoder said (`symbol_not_found` tells a provider that does
  /// not know the asset from one that failed).
  ec code = ec::none;
};

class price_provider;

/// Classifies Yahoo's answer to `job`'s request at `now` (Unix seconds).
fetch_outcome classify(const backfill_job& job, const http_response& response,
                       int64_t now, const classify_settings& settings);

/// Classifies `provider`'s answer to `job`'s request at `now`: the same
/// rules for every provider, only the decoder differs.
fetch_outcome classify(const price_provider& provider, const backfill_job& job,
                       const http_response& response, int64_t now,
                       const classify_settings& settings);

const char* to_string(fetch_result x);

} // namespace backfilld
