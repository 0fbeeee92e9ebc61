// The writer: holds back bad prints (policy/outliers.hpp), stores fetched
// series through its own connection, then tells the tracker. Provider
// trouble never reaches it: it only ever sees finished series.
//
// Group commit: one batch is with the store at a time; series that arrive
// meanwhile wait and go together as the next batch, one transaction for all
// of them (each job still all or nothing). Under load a commit is shared by
// many assets; alone, a series is stored at once. Each write is answered
// only once its rows committed (or with why not).

#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>

#include <caf/fwd.hpp>
#include <caf/typed_response_promise.hpp>

#include "db/connection.hpp"
#include "messages/interfaces.hpp"
#include "policy/outliers.hpp"
#include "telemetry/histogram.hpp"

namespace backfilld {

struct writer_settings {
  /// Bound on one store round trip.
  std::chrono::milliseconds store_timeout{120'000};
  /// Which bars are held back as bad prints before a series is stored.
  outlier_settings outliers{};
  /// `writer.batch-max`: series at most in one group commit.
  uint32_t batch_max = 64;
  /// Bars at most in one group commit (a batch always takes one series,
  /// however long): bounds the transaction and the message.
  size_t batch_max_rows = 100'000;
};

/// A series waiting for its batch, and the fetcher waiting for its answer.
struct pending_write {
  series_write write;
  caf::typed_response_promise<write_summary> reply;
  stopwatch took;
};

struct writer_state {
  static inline const char* name = "writer";
  writer_store_actor store;
  tracker_actor tracker;
  writer_settings settings;
  /// Series that arrived while a batch was with the store, oldest first.
  std::deque<pending_write> waiting;
  /// Whether a batch is with the store.
  bool store_busy = false;
};

/// Takes the next batch off the front of `waiting`: up to `max_series`
/// series and `max_rows` bars, but always the first one.
std::vector<pending_write> next_batch(std::deque<pending_write>& waiting,
                                      uint32_t max_series, size_t max_rows);

writer_actor::behavior_type
writer(writer_actor::stateful_pointer<writer_state> self,
       writer_store_actor store, tracker_actor tracker,
       writer_settings settings);

/// Spawns the writer with its detached store.
writer_actor spawn_writer(caf::actor_system& sys, db_settings db,
                          db_watchdog_actor watchdog, tracker_actor tracker,
                          writer_settings settings);

} // namespace backfilld
