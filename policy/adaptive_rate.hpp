// Additive-increase, multiplicative-decrease pacing for one provider, free
// of actors and clocks so that it is tested with plain time points.

#pragma once

#include <chrono>

namespace backfilld {

/// A provider's current request rate below its configured ceiling. A 429
/// halves it (down to a floor); after that, each second with successes and
/// no 429 adds back a tenth of the ceiling, so a provider that throttled us
/// comes back gradually instead of at full speed into the next 429.
class adaptive_rate {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  /// Starts at `ceiling` requests per second (the configured rate).
  adaptive_rate(double ceiling, time_point now);

  /// The provider answered 429 at `now`: halve the rate (once per second,
  /// so that the answers to a burst of requests already in flight count as
  /// one 429, not as several).
  void throttled(time_point now);

  /// A request succeeded at `now`: raise the rate by a step if the last
  /// change is a second old.
  void succeeded(time_point now);

  /// The configured rate changed (the cluster's share moved): the pace
  /// keeps its fraction of the ceiling, so a provider that is recovering
  /// from 429s stays as far below the new ceiling as below the old.
  void set_ceiling(double ceiling);

  double rate() const {
    return rate_;
  }

  double ceiling() const {
    return ceiling_;
  }

  /// The lowest rate: a sixteenth of the ceiling (four 429s in a row).
  double floor() const {
    return ceiling_ / 16;
  }

 private:
  double ceiling_;
  double rate_;
  /// The last change, up or down: steps up are a second apart.
  time_point changed_;
  /// The last 429 that counted.
  time_point last_throttle_;
};

} // namespace backfilld
