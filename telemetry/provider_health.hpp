// What each provider's breaker and limiter look like right now, kept where
// `backfilld status` (a separate process) can get at it: the fetcher records
// every answer and state change here, and a publisher thread copies a
// snapshot into `backfilld_provider_state` every few seconds. A mutex, not
// messages: the fetcher only records, the publisher only copies, and neither
// ever waits for the other for longer than a few map operations.
//
// Nothing here grows with uptime: the providers are a fixed list, and each
// keeps its recent answers in a fixed ring of time slots.

#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace backfilld {

/// One provider as of one moment.
struct provider_state {
  /// As in `asset_prices.source`, e.g. "yahoo".
  std::string provider;
  /// "closed", "open", "half-open", or "off" (not usable: no key).
  std::string breaker = "closed";
  /// Unix seconds; 0 when not open (not paused).
  int64_t open_until = 0;
  int64_t throttled_until = 0;
  /// Answers and failed answers within the sliding window.
  int64_t requests = 0;
  int64_t errors = 0;
  /// Unix seconds of the window's start (the oldest slot it counts).
  int64_t window_start = 0;
  /// Why it is off; empty otherwise.
  std::string note;
};

/// Answers and failures over the last `slots × slot_seconds` seconds, in a
/// fixed ring of time slots: a slot older than the window is reused, never
/// added, so the memory is the same after a month as after a minute.
class error_window {
 public:
  static constexpr size_t slots = 10;
  static constexpr int64_t slot_seconds = 30;
  /// The window's length (five minutes).
  static constexpr int64_t seconds = slots * slot_seconds;

  /// One answer at `now` (Unix seconds); `error` when it was a failure.
  void record(int64_t now, bool error);

  /// Sums the slots within the window ending at `now`.
  void totals(int64_t now, int64_t& requests, int64_t& errors) const;

 private:
  struct slot {
    int64_t index = -1;
    int64_t requests = 0;
    int64_t errors = 0;
  };
  std::array<slot, slots> ring_{};
};

/// The state of every provider the fetcher knows.
class provider_health {
 public:
  /// The breaker changed (`state` as `to_string(circuit_breaker::state)`).
  void set_breaker(std::string_view provider, std::string_view state,
                   int64_t open_until);

  /// The provider asked for a pause until `until` (Unix seconds).
  void set_throttled(std::string_view provider, int64_t until);

  /// The provider cannot be used at all (why: a key is missing).
  void set_off(std::string_view provider, std::string why);

  /// One answer at `now`; `error` for a failure that counts against it.
  void record(std::string_view provider, int64_t now, bool error);

  /// Every provider seen so far, by name, as of `now`: an open breaker
  /// whose cool-down has passed shows as half-open (its probe is due), and
  /// a pause that has ended is no pause.
  std::vector<provider_state> snapshot(int64_t now) const;

  /// Forgets everything (tests).
  void clear();

 private:
  struct entry {
    provider_state state;
    error_window window;
  };
  /// Only the names `metric_providers` lists are kept: a bounded set.
  entry* find(std::string_view provider);

  mutable std::mutex mtx_;
  std::map<std::string, entry, std::less<>> entries_;
};

/// The process's provider states.
provider_health& provider_states();

} // namespace backfilld
