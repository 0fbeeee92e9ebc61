// The writer's I/O shell: a detached actor that owns one database connection
// and runs `store_batch` on it (each job's prices, events and held-back bars
// all or nothing, a batch of jobs in one transaction).

#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <caf/fwd.hpp>

#include "actors/store.hpp"
#include "messages/interfaces.hpp"

namespace backfilld {

struct writer_store_state : store_base {
  static inline const char* name = "writer-store";
  /// "writer-store-2": which of the writer's connections a log line is
  /// about (`store_base::source` points into it).
  std::string label;
};

/// `number` counts the writer's connections from 1.
writer_store_actor::behavior_type
writer_store(writer_store_actor::stateful_pointer<writer_store_state> self,
             db_settings settings, db_watchdog_actor watchdog, uint32_t number);

/// Spawns the store on its own thread: every message blocks on libpq.
writer_store_actor spawn_writer_store(caf::actor_system& sys,
                                      db_settings settings,
                                      db_watchdog_actor watchdog,
                                      uint32_t number);

} // namespace backfilld
