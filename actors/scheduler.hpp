// The scheduler: queues routine refreshes so that every tracked asset stays
// current. A run is due every `refresh.interval` (zone by zone, skipping the
// assets refreshed since their exchange's last close) and once a day
// `refresh.after-close` past each exchange's regular close, on the
// exchange's own clock (the assets of that zone); one more runs at start for
// whatever was not refreshed within an interval (the daemon was down).
//
// The table is the record: a run only inserts jobs, in batches, through a
// detached store, and wakes the job queue. Refresh jobs are claimed after
// every backfill and extension, so routine work never delays a new asset.

#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "actors/scheduler_store.hpp"
#include "db/connection.hpp"
#include "messages/interfaces.hpp"
#include "telemetry/log_once.hpp"

namespace backfilld {

struct scheduler_settings {
  /// `refresh.interval`: every asset is refreshed this often; zero turns the
  /// interval off (then only the daily runs after the closes remain).
  std::chrono::milliseconds interval{21'600'000};
  /// `refresh.after-close`: how long after an exchange's regular close its
  /// assets are refreshed (the close's bar is final by then).
  std::chrono::milliseconds after_close{1'800'000};
  /// How often due runs are looked for (in memory; no database call).
  std::chrono::milliseconds poll_interval{2'000};
  /// Bound on one store round trip.
  std::chrono::milliseconds store_timeout{120'000};
  /// Unix time (seconds) when the scheduler starts; 0 takes the system
  /// clock. From then on, time is the actor's clock, which tests control.
  int64_t start_unix_time = 0;
};

/// One refresh run: the assets of a zone (all when empty), skipping those
/// refreshed within `fresher_than`.
struct refresh_run {
  std::string zone;
  caf::timespan fresher_than{0};
  /// For the log: "start-up", "interval" or "after close".
  const char* why = "";
};

struct scheduler_state {
  static inline const char* name = "scheduler";
  schedule_store_actor store;
  job_queue_actor queue;
  scheduler_settings settings;
  caf::actor_clock::time_point started;
  int64_t started_unix = 0;
  /// When the next interval run is due (Unix seconds; 0: never).
  int64_t next_interval = 0;
  /// When each zone's next after-close run is due: one entry per exchange
  /// zone of the tracked assets (re-read after every run).
  std::map<std::string, int64_t> next_close;
  /// Whether `next_close` has been read from the table yet.
  bool zones_known = false;
  /// A zones request is under way: one at a time, or a database that does
  /// not answer collects one per tick until they time out.
  bool zones_in_flight = false;
  /// Runs waiting or under way (the front): at most one per zone.
  std::deque<refresh_run> runs;
  bool batch_in_flight = false;
  /// The front run's progress: the last asset id it looked at.
  asset_id cursor = 0;
  int32_t queued_in_run = 0;
  /// Round trips that fail and are retried, each cause said once.
  log_once said;
};

scheduler_actor::behavior_type
scheduler(scheduler_actor::stateful_pointer<scheduler_state> self,
          schedule_store_actor store, job_queue_actor queue,
          scheduler_settings settings);

/// Spawns the scheduler with its own detached store.
scheduler_actor spawn_scheduler(caf::actor_system& sys, db_settings db,
                                db_watchdog_actor watchdog,
                                job_queue_actor queue,
                                scheduler_settings settings,
                                schedule_store_settings store_settings);

} // namespace backfilld
