#include "actors/node_link.hpp"

#include <set>

#include <caf/actor_cast.hpp>
#include <caf/node_id.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/lifetime.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = node_link_actor::stateful_pointer<node_link_state>;
using std::chrono::milliseconds;

std::string show(milliseconds d) {
  if (d.count() % 1000 == 0)
    return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

std::string core_of(self_pointer self) {
  return self->state.settings.host + ":" +
         std::to_string(self->state.settings.port);
}

/// Stops the fetcher and its workers; what it held is the core's to hand
/// back (the session dies or is dead already).
void stop_fetcher(self_pointer self) {
  auto& st = self->state;
  if (st.fetcher) {
    self->demonitor(st.fetcher.address());
    caf::anon_send_exit(st.fetcher, caf::exit_reason::user_shutdown);
    st.fetcher = nullptr;
  }
}

/// Ends the link, and the parts it made with it.
void finish(self_pointer self, caf::error reason = caf::error{}) {
  stop_fetcher(self);
  auto& st = self->state;
  if (st.limiter) {
    caf::anon_send_exit(st.limiter, caf::exit_reason::user_shutdown);
    st.limiter = nullptr;
  }
  if (reason)
    self->quit(std::move(reason));
  else
    self->quit();
}

void schedule_connect(self_pointer self, milliseconds delay) {
  self->delayed_send(self, delay, atom::join_v);
}

/// A connect or a join failed: try again later.
void connect_failed(self_pointer self, const caf::error& err) {
  auto& st = self->state;
  st.connecting = false;
  auto delay = st.backoff.next();
  std::string why = render(err);
  // CAF says no more than "disconnect during handshake"; the likely causes
  // are the two sides' TLS settings, so name them.
  if (err == caf::sec::disconnect_during_handshake)
    why = st.settings.tls
            ? "TLS handshake failed (" + why +
                "): are this node's certificate and the core's signed by "
                "CAs the other side trusts (cluster.cafile)?"
            : "the core closed the connection in the handshake (" + why +
                "): does the core use cluster.tls? Then this node needs "
                "cluster.tls=true and a certificate from the core's CA";
  BF_WARN(self, "cannot connect to core {}: {}; retrying in {}", core_of(self),
          why, show(delay));
  schedule_connect(self, delay);
}

/// The core is gone (or does not answer): start over.
void lose_core(self_pointer self, const std::string& reason) {
  auto& st = self->state;
  ++st.epoch;
  stop_fetcher(self);
  if (st.session) {
    self->demonitor(st.session.address());
    st.session = nullptr;
  }
  if (st.stopping) {
    if (st.drain_promise) {
      st.drain_promise->deliver(int32_t{0});
      st.drain_promise.reset();
    }
    finish(self);
    return;
  }
  auto delay = st.backoff.next();
  BF_WARN(self, "lost core {} ({}); reconnecting in {}", core_of(self), reason,
          show(delay));
  schedule_connect(self, delay);
}

/// Takes the core's share of the cluster's rate. The limiter is capped in
/// place: a new limiter would forget a 429's pause, and the node would hit
/// the provider that asked it to wait as soon as another node joined or
/// left.
void apply_cap(self_pointer self, double cap) {
  auto& st = self->state;
  if (cap == st.cap)
    return;
  st.cap = cap;
  self->send(st.limiter, atom::cap_v, cap);
}

void joined(self_pointer self, node_session_actor session,
            const node_terms& terms) {
  auto& st = self->state;
  st.connecting = false;
  st.backoff.reset();
  st.session = std::move(session);
  if (terms.heartbeat_interval_ms > 0)
    st.settings.heartbeat_interval = milliseconds{terms.heartbeat_interval_ms};
  if (terms.heartbeat_timeout_ms > 0)
    st.settings.heartbeat_timeout = milliseconds{terms.heartbeat_timeout_ms};
  self->monitor(st.session);
  st.last_answer = self->clock().now();
  BF_INFO(self, "joined core {} as {}", core_of(self), st.settings.hello.name);
  apply_cap(self, terms.rate_cap);
  st.fetcher = st.make.fetcher(job_queue_actor{st.session}, st.limiter,
                               writer_actor{st.session});
  self->monitor(st.fetcher);
  self->delayed_send(self, st.settings.heartbeat_interval, atom::tick_v);
}

void join_gate(self_pointer self, cluster_gate_actor gate, uint64_t epoch) {
  auto& st = self->state;
  self
    ->request(gate, st.settings.heartbeat_timeout, atom::join_v,
              st.settings.hello)
    .then(
      [=](node_session_actor& session, node_terms& terms) {
        if (epoch != self->state.epoch)
          return;
        joined(self, std::move(session), terms);
      },
      [=](caf::error& err) {
        if (epoch != self->state.epoch)
          return;
        if (is(err, ec::protocol_mismatch)) {
          BF_CRITICAL(self, "core refused this node: {}", render(err));
          finish(self, err);
          return;
        }
        connect_failed(self, err);
      });
}

void connect(self_pointer self) {
  auto& st = self->state;
  if (st.connecting || st.session || st.stopping)
    return;
  st.connecting = true;
  auto epoch = ++st.epoch;
  self
    ->request(st.middleman, st.settings.heartbeat_timeout,
              caf::connect_atom::value, st.settings.host, st.settings.port)
    .then(
      [=](caf::node_id&, caf::strong_actor_ptr& gate, std::set<std::string>&) {
        if (epoch != self->state.epoch)
          return;
        if (!gate) {
          connect_failed(self, make_error(ec::invalid_config,
                                          "no gate published on that port"));
          return;
        }
        join_gate(self, caf::actor_cast<cluster_gate_actor>(gate), epoch);
      },
      [=](caf::error& err) {
        if (epoch != self->state.epoch)
          return;
        connect_failed(self, err);
      });
}

void on_tick(self_pointer self) {
  auto& st = self->state;
  if (!st.session)
    return;
  if (self->clock().now() - st.last_answer > st.settings.heartbeat_timeout) {
    lose_core(self, "heartbeat timeout");
    return;
  }
  auto epoch = st.epoch;
  self->request(st.session, st.settings.heartbeat_timeout, atom::heartbeat_v)
    .then(
      [=](double cap) {
        if (epoch != self->state.epoch)
          return;
        self->state.last_answer = self->clock().now();
        apply_cap(self, cap);
      },
      [](caf::error&) {
        // The timeout above decides.
      });
  self->delayed_send(self, st.settings.heartbeat_interval, atom::tick_v);
}

void on_down(self_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (st.session && dm.source == st.session.address()) {
    lose_core(self, "disconnected");
    return;
  }
  if (st.fetcher && dm.source == st.fetcher.address()) {
    // The fetcher crashed: its jobs wait for their lease at the core. A new
    // one starts empty.
    BF_ERROR(self, "the fetcher stopped: {}; starting a new one",
             render(dm.reason));
    st.fetcher = nullptr;
    if (st.stopping || !st.session)
      return;
    st.fetcher = st.make.fetcher(job_queue_actor{st.session}, st.limiter,
                                 writer_actor{st.session});
    self->monitor(st.fetcher);
  }
}

caf::result<int32_t> on_drain(self_pointer self) {
  auto& st = self->state;
  st.stopping = true;
  if (!st.fetcher) {
    finish(self);
    return int32_t{0};
  }
  // The fetcher finishes what it started (through the session) and hands
  // back the rest; whoever asks bounds the wait.
  auto promise = self->make_response_promise<int32_t>();
  st.drain_promise = promise;
  self->request(st.fetcher, caf::infinite, atom::drain_v)
    .then(
      [=](int32_t finished) mutable {
        promise.deliver(finished);
        self->state.drain_promise.reset();
        finish(self);
      },
      [=](caf::error&) mutable {
        promise.deliver(int32_t{0});
        self->state.drain_promise.reset();
        finish(self);
      });
  return promise;
}

} // namespace

node_link_actor::behavior_type
node_link(node_link_actor::stateful_pointer<node_link_state> self,
          caf::io::middleman_actor middleman, node_parts make,
          node_link_settings settings) {
  auto& st = self->state;
  st.middleman = std::move(middleman);
  st.make = std::move(make);
  st.settings = std::move(settings);
  st.backoff =
    doubling_delay{st.settings.reconnect_first, st.settings.reconnect_max};
  end_on_exception(self);
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  st.limiter = st.make.rate_limiter();
  self->send(self, atom::join_v);
  return {
    [=](atom::join) { connect(self); },
    [=](atom::tick) { on_tick(self); },
    [=](atom::drain) { return on_drain(self); },
  };
}

} // namespace backfilld
