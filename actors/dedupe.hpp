// The dedupe actor: turns sightings into unique, durable jobs.
//
// A notification is only a wake-up. Sightings become at most one live job
// per asset (the table's unique index decides, not this actor's memory), and
// a catch-up scan finds whatever lost notifications missed: at start, after
// the listener reconnects, and periodically. A scan looks only at what
// changed since the previous one, except at start and on a long interval,
// so that a big tracker costs little at idle. Assets that already have
// prices only need their tracking refreshed.

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>

#include <caf/fwd.hpp>

#include "db/connection.hpp"
#include "db/job_queries.hpp"
#include "messages/interfaces.hpp"
#include "telemetry/log_once.hpp"

namespace backfilld {

struct dedupe_settings {
  /// How often pending sightings are retried and catch-up is considered.
  std::chrono::milliseconds poll_interval{2'000};
  /// How often the transactions added since the last scan are looked at for
  /// work that notifications missed.
  std::chrono::milliseconds catch_up_interval{300'000};
  /// How often every asset is looked at (which also notices deleted
  /// transactions); the first scan after a start is always a full one.
  std::chrono::milliseconds full_catch_up_interval{86'400'000};
  /// Bound on one store round trip.
  std::chrono::milliseconds store_timeout{120'000};
  /// Sightings kept while the store is busy or away; beyond it they are
  /// dropped and a catch-up scan finds their assets instead.
  size_t max_sightings = 10'000;
};

struct dedupe_state {
  static inline const char* name = "dedupe";
  enqueue_store_actor store;
  tracker_actor tracker;
  job_queue_actor queue;
  dedupe_settings settings;

  /// Assets seen in notifications, not yet sent to the store.
  std::set<asset_id> sightings;
  bool enqueue_in_flight = false;
  bool sightings_overflowed = false;

  bool catch_up_in_flight = false;
  bool catch_up_again = false;
  std::chrono::steady_clock::time_point next_catch_up;
  std::chrono::steady_clock::time_point next_full_catch_up;
  /// How far the last scan read; none before the first full scan.
  std::optional<backfilld::scan_mark> mark;
  /// Round trips that fail and are retried, each cause said once.
  log_once said;
};

dedupe_actor::behavior_type
dedupe(dedupe_actor::stateful_pointer<dedupe_state> self,
       enqueue_store_actor store, tracker_actor tracker, job_queue_actor queue,
       dedupe_settings settings);

/// Spawns the dedupe actor with its own detached job store.
dedupe_actor spawn_dedupe(caf::actor_system& sys, db_settings db,
                          queue_settings lease, db_watchdog_actor watchdog,
                          tracker_actor tracker, job_queue_actor queue,
                          dedupe_settings settings);

} // namespace backfilld
