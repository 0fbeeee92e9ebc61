// The dedupe actor: the front of the job queue.
//
// Sightings become at most one live job per asset (the table's unique index
// decides, not this actor's memory); fetchers pull claimed jobs and get at
// most what they asked for, so the backlog waits in the database, never in a
// mailbox. Outcomes flow back through here to the table. Everything it keeps
// in memory can be lost: a restarted dedupe catches up from the table, and a
// lease that nobody extends expires.

#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <variant>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_response_promise.hpp>

#include "db/connection.hpp"
#include "db/job_queries.hpp"
#include "messages/interfaces.hpp"
#include "policy/verdict.hpp"

namespace backfilld {

struct dedupe_settings {
  /// How often due jobs are looked for while fetchers wait (the safety net
  /// under the NOTIFY wake-up), and how often failed round trips are retried.
  std::chrono::milliseconds poll_interval{2'000};
  /// How often the whole table is scanned for work that notifications missed.
  std::chrono::milliseconds catch_up_interval{300'000};
  /// How often the leases of held jobs are extended (well below the lease).
  std::chrono::milliseconds heartbeat_interval{60'000};
  /// Bound on one store round trip.
  std::chrono::milliseconds store_timeout{120'000};
  /// Sightings kept while the store is busy or away; beyond it they are
  /// dropped and a catch-up scan finds their assets instead.
  size_t max_sightings = 10'000;
  retry_policy retry;
  /// Seeds the backoff jitter (fixed in tests).
  uint64_t seed = 0;
};

/// A fetcher's request for work, answered once jobs are due.
struct parked_pull {
  uint64_t id = 0;
  caf::actor_addr fetcher;
  uint32_t capacity = 0;
  caf::typed_response_promise<std::vector<backfill_job>> promise;
};

/// Outcomes on their way to the table, sent one at a time.
struct done_outcome {
  job_id job = 0;
};
using outcome = std::variant<done_outcome, job_verdict, job_release>;

struct dedupe_state {
  static inline const char* name = "dedupe";
  job_store_actor store;
  tracker_actor tracker;
  dedupe_settings settings;
  std::mt19937_64 rng;

  /// Assets seen in notifications, not yet sent to the store.
  std::set<asset_id> sightings;
  bool enqueue_in_flight = false;
  bool sightings_overflowed = false;

  std::deque<parked_pull> parked;
  uint64_t next_pull_id = 1;
  bool claim_in_flight = false;

  /// Which jobs each fetcher holds (for heartbeats, and to release them
  /// when the fetcher dies).
  std::map<caf::actor_addr, std::set<job_id>> held;

  std::deque<outcome> outbox;
  bool outbox_in_flight = false;
  /// Times the store refused the oldest outcome for a reason other than
  /// being away; after a few it is dropped (its lease runs out instead).
  int outbox_refusals = 0;

  bool catch_up_in_flight = false;
  bool catch_up_again = false;
  std::chrono::steady_clock::time_point next_catch_up;

  bool heartbeat_in_flight = false;
  std::chrono::steady_clock::time_point next_heartbeat;

  bool draining = false;
  std::optional<caf::typed_response_promise<int32_t>> drain_promise;
  int32_t released_on_drain = 0;
};

dedupe_actor::behavior_type
dedupe(dedupe_actor::stateful_pointer<dedupe_state> self, job_store_actor store,
       tracker_actor tracker, dedupe_settings settings);

/// Spawns the dedupe actor with its detached job store.
dedupe_actor spawn_dedupe(caf::actor_system& sys, db_settings db,
                          queue_settings lease, db_watchdog_actor watchdog,
                          tracker_actor tracker, dedupe_settings settings);

} // namespace backfilld
