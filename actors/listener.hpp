// The listener: turns `transaction_created` notifications into sightings for
// the queue, and has the queue catch up whenever LISTEN starts over.
//
// It holds no connection itself: the detached listen shell (listener_shell.hpp)
// does the blocking I/O and feeds it raw notifications, so this actor is what
// the deterministic unit tests drive.

#pragma once

#include <caf/fwd.hpp>

#include "actors/listener_shell.hpp"
#include "messages/interfaces.hpp"

namespace backfilld {

struct listener_state {
  static inline const char* name = "listener";
  dedupe_actor queue;
  /// How many times LISTEN was established (the first is the start-up).
  int listens = 0;
};

listener_actor::behavior_type
listener(listener_actor::stateful_pointer<listener_state> self,
         dedupe_actor queue);

/// Spawns the listener with its shell, linked: they live and die together.
listener_actor spawn_listener(caf::actor_system& sys, dedupe_actor queue,
                              db_settings db, db_watchdog_actor watchdog,
                              listen_settings settings);

} // namespace backfilld
