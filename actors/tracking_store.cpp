#include "actors/tracking_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "db/tracking_queries.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"

namespace backfilld {

tracking_store_actor::behavior_type tracking_store(
  tracking_store_actor::stateful_pointer<tracking_store_state> self,
  db_settings settings, db_watchdog_actor watchdog) {
  auto& st = self->state;
  st.guard = call_guard{std::move(watchdog), settings.stall_timeout};
  st.db.emplace(std::move(settings));
  watch_calls(*st.db, st.guard);
  return {
    [=](atom::track, const std::vector<asset_id>& assets,
        const std::vector<asset_id>& fresh) -> caf::result<int32_t> {
      int32_t changed = 0;
      auto f = self->state.db->run([&](pqxx::connection& conn) {
        changed = refresh_tracking(conn, assets, fresh);
      });
      if (f)
        return to_error(std::move(f));
      return changed;
    },
  };
}

tracking_store_actor spawn_tracking_store(caf::actor_system& sys,
                                          db_settings settings,
                                          db_watchdog_actor watchdog) {
  return sys.spawn<caf::detached>(tracking_store, std::move(settings),
                                  std::move(watchdog));
}

} // namespace backfilld
