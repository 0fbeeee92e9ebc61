// Token-bucket arithmetic for the rate limiter, free of actors and clocks so
// that it is tested with plain time points.

#pragma once

#include <chrono>

namespace backfilld {

/// Allows `rate` requests per second on average and bursts of up to `burst`.
/// A pause (the provider's 429) empties the bucket and grants nothing until
/// it ends.
class token_bucket {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  /// Starts full, so the first `burst` requests go out at once.
  token_bucket(double rate, double burst, time_point now);

  /// Takes a token if one is available at `now`.
  bool try_take(time_point now);

  /// How long from `now` until `try_take` can succeed; zero if it can now.
  duration wait_time(time_point now);

  /// Grants nothing before `until` and starts refilling from empty then.
  void pause_until(time_point until);

  /// Tokens available at `now` (fractional while refilling).
  double available(time_point now);

  double rate() const {
    return rate_;
  }

 private:
  void refill(time_point now);

  double rate_;
  double burst_;
  double tokens_;
  time_point last_;
  time_point paused_until_;
};

} // namespace backfilld
