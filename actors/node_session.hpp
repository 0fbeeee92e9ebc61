// A fetcher node's session on the core: the node's stand-in towards the job
// queue and the writer.
//
// The job queue already treats whoever pulls as a fetcher: it holds the jobs
// it hands out in the puller's name, extends their leases, and hands them
// back the moment that puller goes down. The session pulls (with `request`,
// never `delegate`, so that the queue sees the session as the holder) on the
// node's behalf, and quits when the node is lost: the queue's down handler
// then hands the node's jobs back at once. No queue logic is specific to
// nodes.
//
// A result for a job the session does not hold (a late answer from a node
// that was dropped and whose jobs went to someone else) is never written.

#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>

#include <caf/actor_addr.hpp>
#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_response_promise.hpp>

#include "messages/interfaces.hpp"

namespace backfilld {

struct node_session_settings {
  /// The node's name, for logs and the node table.
  std::string node;
  /// How often the session reports to the gate and checks the node.
  std::chrono::milliseconds heartbeat_interval{2'000};
  /// A node silent for this long is dropped.
  std::chrono::milliseconds heartbeat_timeout{10'000};
  /// Bound on one writer round trip.
  std::chrono::milliseconds store_timeout{120'000};
  /// The node's share of the cluster's request rate (0: none).
  double rate_cap = 0;
};

struct node_session_state {
  static inline const char* name = "node-session";
  job_queue_actor queue;
  writer_actor writer;
  cluster_gate_actor gate;
  node_session_settings settings;
  /// The node's link actor (a proxy): its down message means disconnected.
  caf::actor_addr node;
  /// The jobs the queue handed to this node and not reported yet.
  std::set<job_id> in_hand;
  int64_t done = 0;
  int64_t failed = 0;
  /// (when, done so far) once a tick, for the last minute's throughput;
  /// bounded by a minute of ticks.
  std::deque<std::pair<caf::actor_clock::time_point, int64_t>> done_marks;
  caf::actor_clock::time_point last_seen;
  int64_t connected_since_ms = 0;
  int64_t last_seen_ms = 0;
  /// Pulls waiting for the queue's answer, by number: answered empty when
  /// the queue is replaced (a dead queue answers nothing).
  std::map<uint64_t, caf::typed_response_promise<std::vector<backfill_job>>>
    pulls;
  uint64_t next_pull = 1;
  /// Set once the node is lost: the reason, for the node table.
  std::string lost;
};

/// `node` is the node's link actor, monitored for disconnects.
node_session_actor::behavior_type
node_session(node_session_actor::stateful_pointer<node_session_state> self,
             job_queue_actor queue, writer_actor writer,
             cluster_gate_actor gate, caf::actor_addr node,
             node_session_settings settings);

} // namespace backfilld
