// A circuit breaker for one provider, free of actors and clocks so that it is
// tested with plain time points (the fetcher passes its actor clock's).
//
// Closed, it counts consecutive failures; `failures` of them open it. Open,
// it refuses every request for `cool_down`, so that an outage costs one probe
// per cool-down rather than one failed request per asset. Then it lets one
// probe through (half open); `successes` probes in a row close it, one failed
// probe opens it again.

#pragma once

#include <chrono>
#include <cstdint>

namespace backfilld {

struct breaker_settings {
  int32_t failures = 5;
  std::chrono::milliseconds cool_down{60'000};
  int32_t successes = 2;
};

class circuit_breaker {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  enum class state : uint8_t { closed, open, half_open };

  explicit circuit_breaker(breaker_settings settings = {});

  /// Whether a request may go out at `now`. Past the cool-down, the first
  /// caller gets the probe and the breaker waits for its outcome: nobody
  /// else is let through until `succeeded` or `failed` is called.
  bool let_through(time_point now);

  /// The provider answered (data, or its own "no such symbol").
  void succeeded();

  /// The provider failed the request (unreachable, 5xx, 429, garbage).
  void failed(time_point now);

  /// A request `let_through` let through was never made (the job went
  /// elsewhere): a probe slot is given back.
  void abandoned();

  state current() const {
    return state_;
  }

  /// While open: when the next probe may go.
  time_point open_until() const {
    return open_until_;
  }

 private:
  void open(time_point now);

  breaker_settings settings_;
  state state_ = state::closed;
  int32_t failures_ = 0;
  int32_t successes_ = 0;
  bool probing_ = false;
  time_point open_until_{};
};

const char* to_string(circuit_breaker::state x);

} // namespace backfilld
