#include "actors/price_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "db/price_queries.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"

namespace backfilld {

price_store_actor::behavior_type
price_store(price_store_actor::stateful_pointer<price_store_state> self,
            db_settings settings, db_watchdog_actor watchdog) {
  auto& st = self->state;
  st.guard = call_guard{std::move(watchdog), settings.stall_timeout};
  st.db.emplace(std::move(settings));
  watch_calls(*st.db, st.guard);
  return {
    [=](atom::write, asset_id asset,
        const price_series& series) -> caf::result<write_summary> {
      write_summary summary;
      auto f = self->state.db->run([&](pqxx::connection& conn) {
        summary = write_series(conn, asset, series);
      });
      if (f)
        return to_error(std::move(f));
      return summary;
    },
  };
}

price_store_actor spawn_price_store(caf::actor_system& sys,
                                    db_settings settings,
                                    db_watchdog_actor watchdog) {
  return sys.spawn<caf::detached>(price_store, std::move(settings),
                                  std::move(watchdog));
}

} // namespace backfilld
