// Retry schedules: exponential backoff with jitter, and the supervisor's
// restart-intensity window.

#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <random>

namespace backfilld {

/// When to try a failed job again.
struct backoff_policy {
  std::chrono::milliseconds base{30'000};
  double factor = 2.0;
  std::chrono::milliseconds cap{3'600'000};
  /// Attempts (claims) after which a job is given up on.
  int32_t max_attempts = 8;
};

/// The delay after the `attempts`-th failed attempt: `base * factor^(n-1)`,
/// capped, with "equal jitter" (half fixed, half random) so that jobs that
/// failed together do not all come back together, yet never retry at once.
std::chrono::milliseconds backoff_delay(const backoff_policy& policy,
                                        int32_t attempts, std::mt19937_64& rng);

/// Whether a job that has been tried `attempts` times should be given up.
bool exhausted(const backoff_policy& policy, int32_t attempts);

/// A delay that doubles with each failed try, up to a cap, and starts over
/// after a success: for reconnect loops, where one process retries alone
/// and needs no jitter.
class doubling_delay {
 public:
  doubling_delay(std::chrono::milliseconds first, std::chrono::milliseconds cap)
    : first_(first),
      cap_(cap),
      current_(first) {
    // nop
  }

  /// The delay to wait now; the one after it is twice as long.
  std::chrono::milliseconds next() {
    auto result = current_;
    current_ = std::min(current_ * 2, cap_);
    return result;
  }

  /// A try succeeded: the next failure waits the first delay again.
  void reset() {
    current_ = first_;
  }

 private:
  std::chrono::milliseconds first_;
  std::chrono::milliseconds cap_;
  std::chrono::milliseconds current_;
};

/// Counts restarts in a sliding window: allows `max_restarts` within `window`
/// and reports when a role restarts more often than that (crash loop).
class restart_window {
 public:
  using clock = std::chrono::steady_clock;

  restart_window(int32_t max_restarts, clock::duration window);

  /// Records a restart at `now`; false when the limit is exceeded.
  bool record(clock::time_point now);

 private:
  int32_t max_restarts_;
  clock::duration window_;
  std::deque<clock::time_point> restarts_;
};

} // namespace backfilld
