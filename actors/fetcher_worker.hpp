// A fetcher's I/O worker: a detached actor with one libcurl easy handle. The
// fetcher keeps several, so one slow response does not hold up the others.

#pragma once

#include <optional>

#include <caf/fwd.hpp>

#include "messages/interfaces.hpp"
#include "provider/http_client.hpp"

namespace backfilld {

struct fetcher_worker_state {
  static inline const char* name = "fetcher-worker";
  std::optional<http_client> client;
};

fetcher_worker_actor::behavior_type fetcher_worker(
  fetcher_worker_actor::stateful_pointer<fetcher_worker_state> self,
  http_options options);

/// Spawns a worker on its own thread: a GET blocks for up to its timeout.
fetcher_worker_actor spawn_fetcher_worker(caf::actor_system& sys,
                                          http_options options);

} // namespace backfilld
