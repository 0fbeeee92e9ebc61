#include "app/pipeline.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/listener.hpp"
#include "messages/type_ids.hpp"

namespace backfilld {

role_factory production_roles(const pipeline_settings& settings) {
  // Each maker keeps its own copy of the settings it needs.
  role_factory make;
  make.tracker = [db = settings.db, cfg = settings.tracker](
                   caf::actor_system& sys, db_watchdog_actor watchdog) {
    return spawn_tracker(sys, db, std::move(watchdog), cfg);
  };
  make.rate_limiter = [cfg = settings.limiter](caf::actor_system& sys) {
    return spawn_rate_limiter(sys, cfg);
  };
  make.writer = [db = settings.db, cfg = settings.writer](
                  caf::actor_system& sys, db_watchdog_actor watchdog,
                  tracker_actor tracker) {
    return spawn_writer(sys, db, std::move(watchdog), std::move(tracker), cfg);
  };
  make.job_queue = [db = settings.db, lease = settings.lease,
                    cfg = settings.queue](caf::actor_system& sys,
                                          db_watchdog_actor watchdog) {
    return spawn_job_queue(sys, db, lease, std::move(watchdog), cfg);
  };
  make.dedupe =
    [db = settings.db, lease = settings.lease,
     cfg = settings.dedupe](caf::actor_system& sys, db_watchdog_actor watchdog,
                            tracker_actor tracker, job_queue_actor queue) {
      return spawn_dedupe(sys, db, lease, std::move(watchdog),
                          std::move(tracker), std::move(queue), cfg);
    };
  make.fetcher =
    [n = settings.fetch_concurrency, http = settings.http,
     cfg = settings.fetcher](caf::actor_system& sys, job_queue_actor queue,
                             rate_limiter_actor limiter, writer_actor writer) {
      return spawn_fetcher(sys, std::move(queue), std::move(limiter),
                           std::move(writer), n, http, cfg);
    };
  make.listener = [db = settings.db, cfg = settings.listen](
                    caf::actor_system& sys, db_watchdog_actor watchdog,
                    dedupe_actor dedupe) {
    return spawn_listener(sys, std::move(dedupe), db, std::move(watchdog), cfg);
  };
  make.scheduler = [db = settings.db, cfg = settings.scheduler,
                    store = settings.schedule_store](caf::actor_system& sys,
                                                     db_watchdog_actor watchdog,
                                                     job_queue_actor queue) {
    return spawn_scheduler(sys, db, std::move(watchdog), std::move(queue), cfg,
                           store);
  };
  return make;
}

supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  const pipeline_settings& settings) {
  return sys.spawn(supervisor, settings.supervision,
                   production_roles(settings));
}

} // namespace backfilld
