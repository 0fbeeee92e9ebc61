// The tracker's I/O shell: a detached actor that owns one database connection
// and recomputes `tracked_assets` rows on it.

#pragma once

#include <optional>

#include <caf/fwd.hpp>

#include "actors/store.hpp"
#include "messages/interfaces.hpp"

namespace backfilld {

struct tracking_store_state : store_base {
  static inline const char* name = "tracking-store";
};

tracking_store_actor::behavior_type tracking_store(
  tracking_store_actor::stateful_pointer<tracking_store_state> self,
  db_settings settings, db_watchdog_actor watchdog);

/// Spawns the store on its own thread: every message blocks on libpq.
tracking_store_actor spawn_tracking_store(caf::actor_system& sys,
                                          db_settings settings,
                                          db_watchdog_actor watchdog);

} // namespace backfilld
