// The supervisor: spawns every role, watches each, and restarts any that dies
// on its own, handing its successor to the peers that talk to it. A role that
// keeps dying (more than N restarts in T) is a crash loop: the supervisor
// gives up loudly and the process exits non-zero, so that the container's
// restart policy takes over. On shutdown it drains the pipeline in order.

#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>

#include "messages/interfaces.hpp"
#include "policy/backoff.hpp"

namespace backfilld {

/// How the supervisor watches and stops the roles.
struct supervision_settings {
  /// Restart intensity: more than `max_restarts` in `restart_window` of one
  /// role is a crash loop.
  int32_t max_restarts = 5;
  std::chrono::milliseconds restart_window{60'000};
  /// Pause before a dead role is respawned.
  std::chrono::milliseconds restart_delay{1'000};
  /// How long in-flight jobs get to finish on shutdown.
  std::chrono::milliseconds shutdown_grace{30'000};
  /// Period of the one-line summary log.
  std::chrono::milliseconds summary_interval{60'000};
};

/// How the supervisor makes each role, given the peers it needs. The
/// daemon's come from `production_roles` (app/pipeline.hpp); the unit tests
/// plug in fakes. `listener` and `dedupe` may be left empty (a one-shot
/// command): those roles are then not run.
struct role_factory {
  std::function<tracker_actor(caf::actor_system&, db_watchdog_actor)> tracker;
  std::function<rate_limiter_actor(caf::actor_system&)> rate_limiter;
  std::function<writer_actor(caf::actor_system&, db_watchdog_actor,
                             tracker_actor)>
    writer;
  std::function<job_queue_actor(caf::actor_system&, db_watchdog_actor)>
    job_queue;
  std::function<dedupe_actor(caf::actor_system&, db_watchdog_actor,
                             tracker_actor, job_queue_actor)>
    dedupe;
  std::function<fetcher_actor(caf::actor_system&, job_queue_actor,
                              rate_limiter_actor, writer_actor)>
    fetcher;
  std::function<listener_actor(caf::actor_system&, db_watchdog_actor,
                               dedupe_actor)>
    listener;
  std::function<scheduler_actor(caf::actor_system&, db_watchdog_actor,
                                job_queue_actor)>
    scheduler;
};

struct supervisor_state {
  static inline const char* name = "supervisor";
  supervision_settings settings;
  role_factory make;
  db_watchdog_actor watchdog;
  tracker_actor tracker;
  rate_limiter_actor limiter;
  writer_actor writer;
  job_queue_actor queue;
  dedupe_actor dedupe;
  fetcher_actor fetcher;
  listener_actor listener;
  scheduler_actor scheduler;
  /// Which role each live actor plays.
  std::map<caf::actor_addr, role> roles;
  std::map<role, restart_window> restarts;
  /// The last summary line logged.
  std::string last_summary;
  bool stopping = false;
};

supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
           supervision_settings settings, role_factory make);

} // namespace backfilld
