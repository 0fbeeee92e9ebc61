// What happens to a job after a failed attempt.

#pragma once

#include <chrono>
#include <random>
#include <string>
#include <string_view>

#include "messages/types.hpp"
#include "policy/backoff.hpp"

namespace backfilld {

struct retry_policy {
  backoff_policy backoff;
  /// Wait after a 429 that came without `Retry-After`.
  std::chrono::milliseconds throttle_delay{60'000};
};

/// A failure's text fit for a log line and a `text` column: control
/// characters replaced, at most 500 bytes, cut at a character boundary.
std::string printable_reason(std::string_view text);

/// Permanent failures give up at once (retried only when an operator asks);
/// throttling waits for the provider without costing an attempt; anything
/// else backs off exponentially until the attempts run out (a give-up that
/// catch-up revives later, unlike a permanent one).
job_verdict decide(const backfill_job& job, const job_failure& failure,
                   const retry_policy& policy, std::mt19937_64& rng);

} // namespace backfilld
