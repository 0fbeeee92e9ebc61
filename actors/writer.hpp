// The writer: holds back bad prints (policy/outliers.hpp), stores fetched
// series through connections of its own, then tells the tracker. Provider
// trouble never reaches it: it only ever sees finished series.
//
// Group commit: each of its stores (`writer.connections`, one database
// connection each) has one batch at a time; series that arrive while every
// store is busy wait and go together as the next batch, one transaction for
// all of them (each job still all or nothing). Under load a commit is shared
// by many assets and PostgreSQL runs one INSERT per connection in parallel;
// alone, a series is stored at once. No asset is in two batches at once, so
// two transactions never wait for each other's rows and an asset's writes
// commit in the order they came. Each write is answered only once its rows
// committed (or with why not).

#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

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
  /// `writer.connections`: stores, each with its own connection and at most
  /// one batch in flight.
  uint32_t connections = 2;
};

/// A series waiting for its batch, and the fetcher waiting for its answer.
struct pending_write {
  series_write write;
  caf::typed_response_promise<write_summary> reply;
  stopwatch took;
};

/// One of the writer's connections.
struct store_slot {
  writer_store_actor store;
  /// Whether it has a batch (or may still be storing one it timed out on).
  bool busy = false;
};

struct writer_state {
  static inline const char* name = "writer";
  std::vector<store_slot> slots;
  tracker_actor tracker;
  writer_settings settings;
  /// Series that arrived while every store was busy (or while a batch with
  /// their asset was with a store), oldest first.
  std::deque<pending_write> waiting;
  /// The assets in batches with a store, and how many of their series.
  std::unordered_map<asset_id, uint32_t> in_flight;
};

/// Takes the next batch out of `waiting`, oldest first: up to `max_series`
/// series and `max_rows` bars, but always one series if any may go. Series
/// whose asset is `in_flight` stay where they are.
std::vector<pending_write>
next_batch(std::deque<pending_write>& waiting, uint32_t max_series,
           size_t max_rows,
           const std::unordered_map<asset_id, uint32_t>& in_flight);

writer_actor::behavior_type
writer(writer_actor::stateful_pointer<writer_state> self,
       std::vector<writer_store_actor> stores, tracker_actor tracker,
       writer_settings settings);

/// Spawns the writer with its detached stores.
writer_actor spawn_writer(caf::actor_system& sys, db_settings db,
                          db_watchdog_actor watchdog, tracker_actor tracker,
                          writer_settings settings);

} // namespace backfilld
