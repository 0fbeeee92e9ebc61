#include "actors/cluster_gate.hpp"

#include <algorithm>
#include <chrono>
#include <tuple>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/lifetime.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = cluster_gate_actor::stateful_pointer<cluster_gate_state>;
using join_result = caf::result<node_session_actor, node_terms>;

int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

double current_share(self_pointer self) {
  auto& st = self->state;
  return rate_share(st.settings.requests_per_second,
                    st.by_name.size() + (st.settings.local_fetcher ? 1 : 0));
}

/// The core's own fetcher is one of the cluster's fetchers: its limiter
/// takes a share like every node's.
void cap_local_fetcher(self_pointer self) {
  auto& st = self->state;
  if (st.local_limiter && st.settings.local_fetcher &&
      st.settings.requests_per_second > 0)
    self->send(st.local_limiter, atom::cap_v, current_share(self));
}

/// Membership changed: every node's share changes with it.
void share_out(self_pointer self) {
  auto& st = self->state;
  metrics().cluster_nodes = static_cast<int64_t>(st.by_name.size());
  if (st.settings.requests_per_second <= 0)
    return;
  auto share = current_share(self);
  for (const auto& entry : st.by_name)
    self->send(entry.second, atom::cap_v, share);
  cap_local_fetcher(self);
}

join_result on_join(self_pointer self, const node_hello& hello) {
  auto& st = self->state;
  if (hello.protocol != st.settings.protocol) {
    auto why = "protocol " + std::to_string(hello.protocol) + ", core speaks " +
               std::to_string(st.settings.protocol);
    BF_WARN(self, "node {} refused: {}", hello.name, why);
    return make_error(ec::protocol_mismatch, why);
  }
  if (hello.name.empty())
    return make_error(ec::invalid_config, "a node needs a name");
  if (!st.queue || !st.writer)
    return make_error(ec::shutting_down, "the core is not ready yet");
  // The node connected again before its old session noticed the loss: what
  // the old one holds belongs to a fetcher that is gone.
  if (auto i = st.by_name.find(hello.name); i != st.by_name.end()) {
    send_exit_with(caf::actor_cast<caf::strong_actor_ptr>(i->second),
                   make_error(ec::shutting_down, "replaced"));
    st.sessions.erase(i->second.address());
    st.by_name.erase(i);
  }
  node_session_settings cfg;
  cfg.node = hello.name;
  cfg.heartbeat_interval = st.settings.heartbeat_interval;
  cfg.heartbeat_timeout = st.settings.heartbeat_timeout;
  cfg.store_timeout = st.settings.store_timeout;
  auto node = caf::actor_cast<caf::actor_addr>(self->current_sender());
  // Linked: the sessions stop with the gate (shutdown).
  auto session = self->spawn<caf::linked>(node_session, st.queue, st.writer,
                                          cluster_gate_actor{self}, node, cfg);
  self->monitor(session);
  st.sessions.emplace(session.address(), hello.name);
  st.by_name.emplace(hello.name, session);
  node_report row;
  row.name = hello.name;
  row.connected_since_ms = row.last_seen_ms = unix_ms();
  st.table[hello.name] = row;
  BF_INFO(self, "node {} joined (protocol {})", hello.name, hello.protocol);
  share_out(self);
  node_terms terms;
  terms.heartbeat_interval_ms = st.settings.heartbeat_interval.count();
  terms.heartbeat_timeout_ms = st.settings.heartbeat_timeout.count();
  terms.rate_cap = current_share(self);
  self->send(session, atom::cap_v, terms.rate_cap);
  return {std::move(session), std::move(terms)};
}

void on_session_down(self_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto i = st.sessions.find(dm.source);
  if (i == st.sessions.end())
    return;
  auto name = i->second;
  st.sessions.erase(i);
  if (auto j = st.by_name.find(name);
      j != st.by_name.end() && j->second.address() == dm.source)
    st.by_name.erase(j);
  auto& row = st.table[name];
  row.name = name;
  if (row.lost.empty())
    row.lost = "lost";
  row.jobs_in_hand = 0;
  share_out(self);
}

void on_report(self_pointer self, node_report r) {
  auto& st = self->state;
  // A late line from a replaced session must not mark the new one lost.
  if (!r.lost.empty() && st.by_name.count(r.name) > 0 &&
      st.by_name.at(r.name).address() != self->current_sender()->address())
    return;
  auto name = r.name;
  st.table[name] = std::move(r);
}

void on_tick(self_pointer self) {
  auto& st = self->state;
  self->delayed_send(
    self,
    std::max(st.settings.heartbeat_interval, std::chrono::milliseconds{1'000}),
    atom::tick_v);
  auto now = unix_ms();
  auto prune = st.settings.prune_after.count();
  for (auto i = st.table.begin(); i != st.table.end();)
    if (!i->second.lost.empty() && now - i->second.last_seen_ms > prune)
      i = st.table.erase(i);
    else
      ++i;
  if (!st.store || st.store_in_flight)
    return;
  std::vector<node_report> rows;
  for (const auto& entry : st.table)
    rows.push_back(entry.second);
  st.store_in_flight = true;
  caf::timespan prune_span{st.settings.prune_after};
  self
    ->request(st.store, st.settings.store_timeout, atom::report_v, rows,
              prune_span)
    .then([=](int32_t) { self->state.store_in_flight = false; },
          [=](caf::error& err) {
            self->state.store_in_flight = false;
            BF_DEBUG(self, "Cannot write the node table: {}", render(err));
          });
}

} // namespace

double rate_share(double cluster_rate, size_t fetchers) {
  if (cluster_rate <= 0)
    return 0;
  return cluster_rate / static_cast<double>(std::max<size_t>(fetchers, 1));
}

cluster_gate_actor::behavior_type
cluster_gate(cluster_gate_actor::stateful_pointer<cluster_gate_state> self,
             cluster_store_actor store, cluster_gate_settings settings) {
  auto& st = self->state;
  st.store = std::move(store);
  st.settings = std::move(settings);
  end_on_exception(self);
  self->set_down_handler([=](caf::down_msg& dm) { on_session_down(self, dm); });
  // Sessions are linked: their ends (normal, or an exception) are down
  // messages here; only a shutdown stops the gate.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    if (msg.reason == caf::exit_reason::user_shutdown)
      self->quit(msg.reason);
  });
  // No gate, no nodes.
  self->attach_functor([](const caf::error&) { metrics().cluster_nodes = 0; });
  self->send(self, atom::tick_v);
  return {
    [=](atom::join, const node_hello& hello) { return on_join(self, hello); },
    [=](atom::report, node_report& r) { on_report(self, std::move(r)); },
    [=](job_queue_actor queue) {
      self->state.queue = queue;
      for (const auto& entry : self->state.by_name)
        self->send(entry.second, queue);
    },
    [=](writer_actor writer) {
      self->state.writer = writer;
      for (const auto& entry : self->state.by_name)
        self->send(entry.second, writer);
    },
    [=](rate_limiter_actor limiter) {
      self->state.local_limiter = std::move(limiter);
      cap_local_fetcher(self);
    },
    [=](atom::tick) { on_tick(self); },
  };
}

} // namespace backfilld
