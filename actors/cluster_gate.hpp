// The cluster gate: the actor a core publishes for fetcher nodes.
//
// A node joins with its protocol version; the gate refuses another version
// with a text both sides log, else spawns the node's session (see
// node_session.hpp) and replies its handle with the heartbeat settings and
// the node's share of the cluster's request rate. It keeps the node table
// for `backfilld status`, written by a detached store at most once a
// heartbeat interval, never per job.

#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>

#include "actors/node_session.hpp"
#include "messages/interfaces.hpp"

namespace backfilld {

struct cluster_gate_settings {
  /// The version this core speaks (`cluster_protocol_version`, or the
  /// test override).
  int32_t protocol = cluster_protocol_version;
  std::chrono::milliseconds heartbeat_interval{2'000};
  std::chrono::milliseconds heartbeat_timeout{10'000};
  /// Bound on one writer (or node store) round trip.
  std::chrono::milliseconds store_timeout{120'000};
  /// `cluster.requests-per-second`: split over the connected fetchers, the
  /// core's own included; 0 for no cluster cap.
  double requests_per_second = 0;
  /// Whether the core runs a fetcher of its own (it takes a share too).
  bool local_fetcher = true;
  /// A lost node stays in the table (as lost) this long.
  std::chrono::milliseconds prune_after{3'600'000};
};

struct cluster_gate_state {
  static inline const char* name = "cluster-gate";
  job_queue_actor queue;
  writer_actor writer;
  /// The core's own fetcher's limiter; null with no local fetcher.
  rate_limiter_actor local_limiter;
  /// May be null (tests, or no node table).
  cluster_store_actor store;
  cluster_gate_settings settings;
  /// The live sessions, and the node each stands for.
  std::map<caf::actor_addr, std::string> sessions;
  std::map<std::string, node_session_actor> by_name;
  /// Every node seen lately, connected or lost, by name.
  std::map<std::string, node_report> table;
  bool store_in_flight = false;
};

/// The rate cap of each of `fetchers` fetchers sharing `cluster_rate`
/// requests a second (0: no cap).
double rate_share(double cluster_rate, size_t fetchers);

cluster_gate_actor::behavior_type
cluster_gate(cluster_gate_actor::stateful_pointer<cluster_gate_state> self,
             cluster_store_actor store, cluster_gate_settings settings);

} // namespace backfilld
