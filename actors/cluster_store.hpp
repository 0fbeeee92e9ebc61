// The cluster gate's I/O shell: a detached actor that writes the node table
// (`backfilld_cluster_nodes`) on its own connection.

#pragma once

#include <caf/fwd.hpp>

#include "actors/store.hpp"
#include "messages/interfaces.hpp"

namespace backfilld {

struct cluster_store_state : store_base {
  static inline const char* name = "cluster-store";
};

cluster_store_actor::behavior_type
cluster_store(cluster_store_actor::stateful_pointer<cluster_store_state> self,
              db_settings settings, db_watchdog_actor watchdog);

/// Spawns the store on its own thread: every message blocks on libpq.
cluster_store_actor spawn_cluster_store(caf::actor_system& sys,
                                        db_settings settings,
                                        db_watchdog_actor watchdog);

} // namespace backfilld
