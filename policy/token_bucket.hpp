// Token-bucket arithmetic for the rate limiter, free of actors and clocks so
// that it is tested with plain time points.

#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace backfilld {

/// Allows `rate` requests per second on average and bursts of up to `burst`,
/// but never more than `rate` (at least one) in any one-second window: a
/// provider counts its limit per second, and a burst on top of the rate (a
/// full bucket plus the second's refill) would exceed it. A pause (the
/// provider's 429) empties the bucket and grants nothing until it ends.
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

  /// Grants allowed in any one-second window: the rate, at least one.
  size_t per_second() const {
    return recent_.size();
  }

  /// Changes the average rate from `now` on (adaptive pacing); the window
  /// keeps its configured size, so it stays the hard ceiling.
  void set_rate(double rate, time_point now);

  /// Changes the configured limit from `now` on (the cluster's share of its
  /// request rate moved): the one-second window takes the new rate's size
  /// and keeps the latest grants, tokens above the new burst are dropped,
  /// and a pause stays. So no change of share lets a burst through.
  void set_limit(double rate, double burst, time_point now);

 private:
  void refill(time_point now);
  /// When the window lets the next grant through.
  time_point window_opens() const;

  double rate_;
  double burst_;
  double tokens_;
  time_point last_;
  time_point paused_until_;
  /// The last `per_second()` grants, oldest at `next_`: a grant is allowed
  /// once the oldest is a full second old. Sized once, so it never grows.
  std::vector<time_point> recent_;
  size_t next_ = 0;
};

} // namespace backfilld
