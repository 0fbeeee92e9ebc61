#include "actors/scheduler_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "db/refresh_queries.hpp"
#include "messages/type_ids.hpp"

namespace backfilld {

schedule_store_actor::behavior_type schedule_store(
  schedule_store_actor::stateful_pointer<schedule_store_state> self,
  db_settings db, db_watchdog_actor watchdog,
  schedule_store_settings settings) {
  self->state.open(std::move(db), std::move(watchdog), self->state.name);
  self->state.settings = settings;
  return {
    [=](atom::zones) {
      return self->state.query<std::set<std::string>>(
        [&](auto& conn) { return refresh_zones(conn); });
    },
    [=](atom::refresh, const std::string& zone, asset_id after,
        caf::timespan fresher_than) {
      auto batch = self->state.settings.batch;
      return self->state.query<refresh_batch>([&](auto& conn) {
        return enqueue_refreshes(
          conn, zone, after,
          std::chrono::duration_cast<std::chrono::milliseconds>(fresher_than),
          batch);
      });
    },
  };
}

schedule_store_actor spawn_schedule_store(caf::actor_system& sys,
                                          db_settings db,
                                          db_watchdog_actor watchdog,
                                          schedule_store_settings settings) {
  return sys.spawn<caf::detached>(schedule_store, std::move(db),
                                  std::move(watchdog), settings);
}

} // namespace backfilld
