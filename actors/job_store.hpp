// The I/O shell of dedupe and of the job queue: a detached actor that owns
// one database connection and runs the queue's SQL (db/job_queries,
// db/catch_up_queries) on it. Each of the two spawns its own and sees only
// its part of the interface (`enqueue_store_actor`, `claim_store_actor`).

#pragma once

#include <optional>

#include <caf/fwd.hpp>

#include "actors/store.hpp"
#include "db/job_queries.hpp"
#include "messages/interfaces.hpp"

namespace backfilld {

struct job_store_state : store_base {
  static inline const char* name = "job-store";
  queue_settings lease;
  /// A claim whose commit went unanswered (`pqxx::in_doubt_error`): read
  /// back before anything else is claimed.
  std::optional<std::string> doubtful_claim;
  /// The session our running jobs are tied to (0: none yet).
  int backend_pid = 0;

  /// `query`, after tying our running jobs to a session that replaced the
  /// last one (a reconnect): between the two, other daemons would take them
  /// for a dead daemon's.
  template <class T, class F>
  caf::result<T> query_tied(F&& f) {
    return query<T>([&](pqxx::connection_base& conn) {
      auto pid = conn.backendpid();
      if (pid != backend_pid) {
        if (backend_pid != 0)
          retie_jobs(conn, lease);
        backend_pid = pid;
      }
      return f(conn);
    });
  }
};

job_store_actor::behavior_type
job_store(job_store_actor::stateful_pointer<job_store_state> self,
          db_settings settings, queue_settings lease,
          db_watchdog_actor watchdog);

/// Spawns the store on its own thread: every message blocks on libpq.
job_store_actor spawn_job_store(caf::actor_system& sys, db_settings settings,
                                queue_settings lease,
                                db_watchdog_actor watchdog);

} // namespace backfilld
