#include "actors/tracker_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "db/tracking_queries.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"

namespace backfilld {

tracker_store_actor::behavior_type
tracker_store(tracker_store_actor::stateful_pointer<tracker_store_state> self,
              db_settings settings, db_watchdog_actor watchdog) {
  self->state.open(std::move(settings), std::move(watchdog), self->state.name);
  return {
    [=](atom::track, const std::vector<asset_id>& assets,
        const std::vector<asset_id>& fresh) {
      return self->state.query<int32_t>(
        [&](auto& conn) { return refresh_tracking(conn, assets, fresh); });
    },
  };
}

tracker_store_actor spawn_tracker_store(caf::actor_system& sys,
                                        db_settings settings,
                                        db_watchdog_actor watchdog) {
  return sys.spawn<caf::detached>(tracker_store, std::move(settings),
                                  std::move(watchdog));
}

} // namespace backfilld
