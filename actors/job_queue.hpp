// The job queue: hands claimed jobs to the fetchers that ask for them and
// records what became of each.
//
// Fetchers pull and get at most what they asked for, so the backlog waits in
// the database, never in a mailbox. Outcomes go to the table in order through
// the outbox. Everything it keeps in memory can be lost: a restarted queue
// learns from each fetcher's next pull what it holds, and a lease that nobody
// extends expires. Done marks, the common outcome, skip the outbox's line
// and go in batches: a job's done is its last outcome, so it never needs to
// wait behind another job's.

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_response_promise.hpp>

#include "db/connection.hpp"
#include "db/job_queries.hpp"
#include "messages/interfaces.hpp"
#include "policy/verdict.hpp"
#include "queue/outbox.hpp"
#include "queue/pull_book.hpp"
#include "telemetry/log_once.hpp"

namespace backfilld {

struct job_queue_settings {
  /// How often due jobs are looked for while fetchers wait (the safety net
  /// under the wake-up), and how often failed round trips are retried.
  std::chrono::milliseconds poll_interval{2'000};
  /// How often the leases of held jobs are extended (well below the lease).
  std::chrono::milliseconds heartbeat_interval{60'000};
  /// Bound on one store round trip.
  std::chrono::milliseconds store_timeout{120'000};
  /// Times the database may refuse one outcome outright (not merely be
  /// away) before it is dropped so that the outcomes behind it go on.
  int32_t max_outcome_refusals = 3;
  retry_policy retry;
  /// Seeds the backoff jitter (fixed in tests).
  uint64_t seed = 0;
  /// How long after the queue ran dry freed memory is given back once more.
  /// CAF 0.17 keeps every request's time-out in its clock until it would
  /// fire, answered or not: what a burst's requests left there is free only
  /// after the process's longest request time-out (app/config.cpp).
  std::chrono::milliseconds settle_after{180'000};
  /// Gives freed memory back to the system (glibc's `malloc_trim`; counted
  /// in tests).
  std::function<void()> return_memory;
};

using job_reply = caf::typed_response_promise<std::vector<backfill_job>>;

struct job_queue_state {
  static inline const char* name = "job-queue";
  claim_store_actor store;
  job_queue_settings settings;
  std::mt19937_64 rng;
  pull_book<caf::actor_addr, job_reply> pulls;
  bool claim_in_flight = false;
  backfilld::outbox outbox{3};
  bool heartbeat_in_flight = false;
  std::chrono::steady_clock::time_point next_heartbeat;
  bool draining = false;
  std::optional<caf::typed_response_promise<int32_t>> drain_promise;
  int32_t released_on_drain = 0;
  /// Round trips that fail and are retried, each cause said once.
  log_once said;
  /// Jobs whose series are stored, to be marked done together: one round
  /// trip for all that finished while the last marks were on their way.
  std::vector<job_id> done_waiting;
  /// The done marks with the store now.
  std::vector<job_id> done_in_flight;
  /// Times the database refused the marks in flight outright.
  int32_t done_refusals = 0;
  /// Whether freed memory went back to the system since the last jobs.
  bool trimmed = true;
  /// When it goes back once more, the burst's request time-outs gone (if
  /// the queue is still dry then); unset once that time passed.
  std::optional<std::chrono::steady_clock::time_point> settle_at;
};

job_queue_actor::behavior_type
job_queue(job_queue_actor::stateful_pointer<job_queue_state> self,
          claim_store_actor store, job_queue_settings settings);

/// Spawns the job queue with its own detached job store.
job_queue_actor spawn_job_queue(caf::actor_system& sys, db_settings db,
                                queue_settings lease,
                                db_watchdog_actor watchdog,
                                job_queue_settings settings);

} // namespace backfilld
