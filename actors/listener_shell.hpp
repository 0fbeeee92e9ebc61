// The listener's I/O shell: a detached actor that owns the LISTEN connection.
//
// It keeps that connection idle (notifications are held back while a
// transaction is open on it), waits for notifications in short slices so it
// stays responsive, pings it now and then, and reconnects with backoff when
// it breaks. Each time LISTEN is (re)established it tells the listener, which
// then has the queue catch up on whatever was sent during the gap.

#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/db_watchdog.hpp"
#include "db/connection.hpp"
#include "messages/interfaces.hpp"
#include "policy/backoff.hpp"
#include "telemetry/log_once.hpp"

namespace backfilld {

struct listen_settings {
  std::string channel = "transaction_created";
  /// How long one wait for notifications lasts (also the shutdown latency).
  std::chrono::milliseconds poll_interval{500};
  /// How often the idle connection is checked with a query.
  std::chrono::milliseconds ping_interval{30'000};
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{30'000};
};

/// The connection with its receivers (defined in the .cpp, libpqxx inside).
struct listen_connection;

struct listener_shell_state {
  static inline const char* name = "listener-shell";
  listener_actor logic;
  listen_settings settings;
  db_settings db;
  std::shared_ptr<listen_connection> link;
  int32_t backend_pid = 0;
  doubling_delay reconnect_delay{std::chrono::milliseconds{0},
                                 std::chrono::milliseconds{0}};
  std::chrono::steady_clock::time_point next_ping;
  /// Bounds the ping: a silently dead peer would block it forever.
  call_guard guard;
  /// Each reason for being unable to LISTEN goes to the listener (which
  /// logs it) once; retries for the same reason are only counted.
  log_once said;
};

listener_shell_actor::behavior_type listener_shell(
  listener_shell_actor::stateful_pointer<listener_shell_state> self,
  listener_actor logic, db_settings db, db_watchdog_actor watchdog,
  listen_settings settings);

/// Spawns the shell on its own thread, reporting to `logic`.
listener_shell_actor spawn_listener_shell(caf::actor_system& sys,
                                          listener_actor logic, db_settings db,
                                          db_watchdog_actor watchdog,
                                          listen_settings settings);

} // namespace backfilld
