#include "actors/writer_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "db/event_queries.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"

namespace backfilld {

writer_store_actor::behavior_type
writer_store(writer_store_actor::stateful_pointer<writer_store_state> self,
             db_settings settings, db_watchdog_actor watchdog,
             uint32_t number) {
  self->state.label =
    std::string{self->state.name} + "-" + std::to_string(number);
  self->state.open(std::move(settings), std::move(watchdog),
                   self->state.label.c_str());
  return {
    [=](atom::write, const std::vector<series_write>& writes) {
      return self->state.query<std::vector<stored_outcome>>(
        [&](auto& conn) { return store_batch(conn, writes); });
    },
  };
}

writer_store_actor spawn_writer_store(caf::actor_system& sys,
                                      db_settings settings,
                                      db_watchdog_actor watchdog,
                                      uint32_t number) {
  return sys.spawn<caf::detached>(writer_store, std::move(settings),
                                  std::move(watchdog), number);
}

} // namespace backfilld
