#include "actors/cluster_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "db/cluster_queries.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"

namespace backfilld {

cluster_store_actor::behavior_type
cluster_store(cluster_store_actor::stateful_pointer<cluster_store_state> self,
              db_settings settings, db_watchdog_actor watchdog) {
  self->state.open(std::move(settings), std::move(watchdog), self->state.name);
  return {
    [=](atom::report, const std::vector<node_report>& nodes,
        caf::timespan prune_after) {
      auto prune =
        std::chrono::duration_cast<std::chrono::milliseconds>(prune_after);
      return self->state.query<int32_t>(
        [&](auto& conn) { return store_nodes(conn, nodes, prune); });
    },
  };
}

cluster_store_actor spawn_cluster_store(caf::actor_system& sys,
                                        db_settings settings,
                                        db_watchdog_actor watchdog) {
  return sys.spawn<caf::detached>(cluster_store, std::move(settings),
                                  std::move(watchdog));
}

} // namespace backfilld
