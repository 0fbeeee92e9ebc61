#include "actors/fetcher_worker.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/error.hpp"
#include "messages/type_ids.hpp"

namespace backfilld {

fetcher_worker_actor::behavior_type fetcher_worker(
  fetcher_worker_actor::stateful_pointer<fetcher_worker_state> self,
  http_options options) {
  self->state.client.emplace(std::move(options));
  return {
    [=](atom::get, const http_request& request) -> caf::result<http_response> {
      http_response response;
      if (auto f = self->state.client->get(request, response))
        return to_error(std::move(f));
      return response;
    },
  };
}

fetcher_worker_actor spawn_fetcher_worker(caf::actor_system& sys,
                                          http_options options) {
  return sys.spawn<caf::detached>(fetcher_worker, std::move(options));
}

} // namespace backfilld
