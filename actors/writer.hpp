// The writer: holds back bad prints (policy/outliers.hpp), stores fetched
// series through its own connection, one transaction per asset, then tells
// the tracker. Provider trouble never reaches it: it only ever sees
// finished series.

#pragma once

#include <chrono>

#include <caf/fwd.hpp>

#include "db/connection.hpp"
#include "messages/interfaces.hpp"
#include "policy/outliers.hpp"

namespace backfilld {

struct writer_settings {
  /// Bound on one store round trip.
  std::chrono::milliseconds store_timeout{120'000};
  /// Which bars are held back as bad prints before a series is stored.
  outlier_settings outliers{};
};

struct writer_state {
  static inline const char* name = "writer";
  writer_store_actor store;
  tracker_actor tracker;
  writer_settings settings;
};

writer_actor::behavior_type
writer(writer_actor::stateful_pointer<writer_state> self,
       writer_store_actor store, tracker_actor tracker,
       writer_settings settings);

/// Spawns the writer with its detached store.
writer_actor spawn_writer(caf::actor_system& sys, db_settings db,
                          db_watchdog_actor watchdog, tracker_actor tracker,
                          writer_settings settings);

} // namespace backfilld
