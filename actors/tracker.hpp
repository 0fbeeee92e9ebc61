// The tracker: keeps `tracked_assets` right. Requests are coalesced into one
// batch at a time for its store, so a flood of transactions costs one query,
// not one per transaction.

#pragma once

#include <chrono>
#include <set>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/pending_tick.hpp"
#include "db/connection.hpp"
#include "messages/interfaces.hpp"
#include "telemetry/log_once.hpp"

namespace backfilld {

struct tracker_settings {
  /// Bound on one store round trip.
  std::chrono::milliseconds store_timeout{120'000};
  /// Wait before retrying a batch the store could not take.
  std::chrono::milliseconds retry_delay{1'000};
};

struct tracker_state {
  static inline const char* name = "tracker";
  tracker_store_actor store;
  tracker_settings settings;
  /// Assets whose tracking needs recomputing.
  std::set<asset_id> pending;
  /// The subset whose prices were just written.
  std::set<asset_id> fresh;
  /// Whether a batch is with the store.
  bool in_flight = false;
  pending_tick retry;
  /// `flush` requests waiting for everything pending to be stored.
  std::vector<caf::typed_response_promise<int32_t>> flush_waiters;
  int32_t changed_since_flush = 0;
  /// Round trips that fail and are retried, each cause said once.
  log_once said;
};

tracker_actor::behavior_type
tracker(tracker_actor::stateful_pointer<tracker_state> self,
        tracker_store_actor store, tracker_settings settings);

/// Spawns the tracker with its detached store.
tracker_actor spawn_tracker(caf::actor_system& sys, db_settings db,
                            db_watchdog_actor watchdog,
                            tracker_settings settings);

} // namespace backfilld
