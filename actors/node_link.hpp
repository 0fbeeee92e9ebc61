// A fetcher node's link to its core (`--role=fetcher`).
//
// It connects with backoff through the middleman actor's asynchronous
// connect (plain or TLS: the caller passes the right middleman), joins the
// core's gate, then runs the unchanged fetcher with the node's session as its
// job queue and its writer. It heartbeats the session; when the session dies
// (the connection closed, or the core dropped the node) or the core leaves
// heartbeats unanswered for the timeout, it stops the fetcher (its jobs are
// the core's to hand back) and connects again, 1 s doubling up to
// `cluster.reconnect-max`. A core that refuses the node's protocol ends the
// link with that error: retrying cannot help.

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "messages/interfaces.hpp"
#include "policy/backoff.hpp"

namespace backfilld {

struct node_link_settings {
  std::string host;
  uint16_t port = 4270;
  /// What the node says when it joins.
  node_hello hello;
  /// For the log: a failed TLS handshake says so.
  bool tls = false;
  std::chrono::milliseconds reconnect_first{1'000};
  std::chrono::milliseconds reconnect_max{30'000};
  /// Until the core's terms arrive: bound on a connect and a join.
  std::chrono::milliseconds heartbeat_interval{2'000};
  std::chrono::milliseconds heartbeat_timeout{10'000};
};

/// How the link makes the node's parts (the daemon's spawn the real ones).
struct node_parts {
  /// The node's rate limiter, at the node's own limits; the core's share
  /// reaches it as a cap message.
  std::function<rate_limiter_actor()> rate_limiter;
  /// The fetcher, with the session as its queue and writer.
  std::function<fetcher_actor(job_queue_actor, rate_limiter_actor,
                              writer_actor)>
    fetcher;
};

struct node_link_state {
  static inline const char* name = "node-link";
  node_link_settings settings;
  node_parts make;
  caf::io::middleman_actor middleman;
  doubling_delay backoff{std::chrono::milliseconds{1'000},
                         std::chrono::milliseconds{30'000}};
  node_session_actor session;
  fetcher_actor fetcher;
  rate_limiter_actor limiter;
  double cap = 0;
  caf::actor_clock::time_point last_answer;
  /// Bumped at every connect and loss: answers of an older try are stale.
  uint64_t epoch = 0;
  bool connecting = false;
  bool stopping = false;
  std::optional<caf::typed_response_promise<int32_t>> drain_promise;
};

node_link_actor::behavior_type
node_link(node_link_actor::stateful_pointer<node_link_state> self,
          caf::io::middleman_actor middleman, node_parts make,
          node_link_settings settings);

} // namespace backfilld
