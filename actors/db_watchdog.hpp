// The database watchdog: cuts connections whose calls outlive their bound.
//
// TCP keepalives find a peer that is gone, but not one that still answers
// TCP while the database behind it is stuck (a frozen proxy, a hung host
// behind a NAT). libpq then waits forever inside a blocking call, and the
// detached shell with it. The shells arm the watchdog around each call; a
// call whose connection stays silent longer than the bound gets its socket
// shut down, which ends the wait with a broken connection that the shell
// recovers from like any other. The bound applies per statement, not per
// call: each answer from the server starts it anew (the server's own
// `statement_timeout` bounds a statement that computes for long).

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>

#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>

#include "actors/pending_tick.hpp"
#include "db/session.hpp"
#include "messages/interfaces.hpp"

namespace backfilld {

/// A call in progress.
struct armed_call {
  int32_t socket = -1;
  caf::actor_clock::time_point deadline;
  /// How long the connection may stay silent: a call of several statements
  /// may take longer as a whole, as long as answers keep coming.
  std::chrono::milliseconds bound{0};
};

/// How long ago a TCP socket last received data (the kernel's
/// `tcpi_last_data_recv`); nothing for other sockets (a Unix socket's peer
/// cannot vanish silently).
std::optional<std::chrono::milliseconds> socket_quiet_for(int socket);

struct db_watchdog_state {
  static inline const char* name = "db-watchdog";
  /// Calls in progress, by token: a handful at a time (one per store).
  std::map<uint64_t, armed_call> armed;
  /// One timer at a time, not one per call: thousands of calls a minute
  /// would otherwise pile up timers.
  pending_tick tick;
};

db_watchdog_actor::behavior_type
db_watchdog(db_watchdog_actor::stateful_pointer<db_watchdog_state> self);

/// Arms and disarms the watchdog around calls, for one shell. Tokens are
/// unique per process.
class call_guard {
 public:
  call_guard() = default;

  call_guard(db_watchdog_actor watchdog, std::chrono::milliseconds bound)
    : watchdog_(std::move(watchdog)),
      bound_(bound) {
    // nop
  }

  /// A call on `socket` starts now.
  void begin(int socket);

  /// The call started last ended.
  void end();

 private:
  db_watchdog_actor watchdog_;
  std::chrono::milliseconds bound_{0};
  uint64_t token_ = 0;
};

/// Runs `f()` with `guard` armed on `socket`, for a call made outside a
/// `db_session` (the listener's LISTEN and ping).
template <class F>
void guarded(call_guard& guard, int socket, F&& f) {
  guard.begin(socket);
  try {
    f();
  } catch (...) {
    guard.end();
    throw;
  }
  guard.end();
}

/// Routes every call of `session` through `guard`. Both must live as long
/// as each other (in one actor's state).
void watch_calls(db_session& session, call_guard& guard);

} // namespace backfilld
