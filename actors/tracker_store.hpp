// The tracker's I/O shell: a detached actor that owns one database connection
// and recomputes `tracked_assets` rows on it.

#pragma once

#include <optional>

#include <caf/fwd.hpp>

#include "actors/store.hpp"
#include "messages/interfaces.hpp"

namespace backfilld {

struct tracker_store_state : store_base {
  static inline const char* name = "tracker-store";
};

tracker_store_actor::behavior_type
tracker_store(tracker_store_actor::stateful_pointer<tracker_store_state> self,
              db_settings settings, db_watchdog_actor watchdog);

/// Spawns the store on its own thread: every message blocks on libpq.
tracker_store_actor spawn_tracker_store(caf::actor_system& sys,
                                        db_settings settings,
                                        db_watchdog_actor watchdog);

} // namespace backfilld
