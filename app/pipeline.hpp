// The pipeline as the daemon runs it: every role's settings, read from the
// configuration, and the factory that spawns the real roles with their
// detached stores and workers. The supervisor itself knows only the
// protocol; this is where the parts meet.

#pragma once

#include <cstddef>

#include <caf/fwd.hpp>

#include "actors/dedupe.hpp"
#include "actors/fetcher.hpp"
#include "actors/job_queue.hpp"
#include "actors/listener_shell.hpp"
#include "actors/rate_limiter.hpp"
#include "actors/scheduler.hpp"
#include "actors/supervisor.hpp"
#include "actors/tracker.hpp"
#include "actors/writer.hpp"
#include "db/connection.hpp"
#include "db/job_queries.hpp"
#include "provider/http_client.hpp"

namespace backfilld {

/// Everything the pipeline needs to run; read from the configuration.
struct pipeline_settings {
  db_settings db;
  queue_settings lease;
  listen_settings listen;
  dedupe_settings dedupe;
  job_queue_settings queue;
  rate_limiter_settings limiter;
  fetcher_settings fetcher;
  http_options http;
  size_t fetch_concurrency = 4;
  writer_settings writer;
  tracker_settings tracker;
  supervision_settings supervision;
  scheduler_settings scheduler;
  schedule_store_settings schedule_store;
};

/// The real roles (with their detached stores and workers).
role_factory production_roles(const pipeline_settings& settings);

/// Spawns the supervisor with the real roles.
supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  const pipeline_settings& settings);

} // namespace backfilld
