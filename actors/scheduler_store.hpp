// The scheduler's I/O shell: a detached actor that owns one database
// connection and queues refresh jobs on it (db/refresh_queries), so that a
// long run never delays claims, heartbeats or catch-up scans.

#pragma once

#include <chrono>
#include <cstdint>

#include <caf/fwd.hpp>

#include "actors/store.hpp"
#include "messages/interfaces.hpp"

namespace backfilld {

struct schedule_store_settings {
  /// `refresh.batch`: assets looked at per transaction.
  int32_t batch = 500;
};

struct schedule_store_state : store_base {
  static inline const char* name = "schedule-store";
  schedule_store_settings settings;
};

schedule_store_actor::behavior_type schedule_store(
  schedule_store_actor::stateful_pointer<schedule_store_state> self,
  db_settings db, db_watchdog_actor watchdog, schedule_store_settings settings);

/// Spawns the store on its own thread: every message blocks on libpq.
schedule_store_actor spawn_schedule_store(caf::actor_system& sys,
                                          db_settings db,
                                          db_watchdog_actor watchdog,
                                          schedule_store_settings settings);

} // namespace backfilld
