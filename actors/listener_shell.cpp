#include "actors/listener_shell.hpp"

#include <exception>
#include <functional>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <pqxx/pqxx>

#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/counters.hpp"

namespace backfilld {

namespace {

using self_pointer =
  listener_shell_actor::stateful_pointer<listener_shell_state>;
using std::chrono::steady_clock;

/// Forwards each notification as a message. libpqxx swallows exceptions from
/// receivers, so this does nothing that could throw for a reason worth
/// knowing.
class forwarder : public pqxx::notification_receiver {
 public:
  using sink = std::function<void(pg_notification)>;

  forwarder(pqxx::connection_base& conn, const std::string& channel, sink f)
    : pqxx::notification_receiver(conn, channel),
      sink_(std::move(f)) {
    // nop
  }

  void operator()(const std::string& payload, int backend_pid) override {
    sink_(pg_notification{channel(), payload, backend_pid});
  }

 private:
  sink sink_;
};

} // namespace

struct listen_connection {
  std::unique_ptr<pqxx::connection> conn;
  // Declared after `conn`: receivers go first, while the connection exists.
  std::unique_ptr<forwarder> receiver;
};

namespace {

void schedule_reconnect(self_pointer self, const std::string& reason) {
  auto& st = self->state;
  st.link.reset();
  metrics().listen_active = false;
  metrics().db_unavailable++;
  if (st.said.failed("listen", reason))
    self->send(st.logic, atom::lost_v, reason);
  self->delayed_send(self, st.reconnect_delay.next(), atom::poll_v);
}

/// Opens the connection and LISTENs (the receiver's constructor sends it).
void connect_and_listen(self_pointer self) {
  auto& st = self->state;
  try {
    auto link = std::make_shared<listen_connection>();
    link->conn = open_connection(st.db);
    auto logic = st.logic;
    // LISTEN is a call like any other: a silent peer must not hang it.
    guarded(st.guard, link->conn->sock(), [&] {
      link->receiver = std::make_unique<forwarder>(
        *link->conn, st.settings.channel,
        [self, logic](pg_notification n) { self->send(logic, std::move(n)); });
    });
    st.link = std::move(link);
    st.backend_pid = st.link->conn->backendpid();
    st.reconnect_delay.reset();
    metrics().listen_active = true;
    // The listener's "listening" line says that the outage is over.
    st.said.recovered("listen");
    st.next_ping = steady_clock::now() + st.settings.ping_interval;
    self->send(st.logic, atom::listening_v, st.backend_pid);
    self->send(self, atom::poll_v);
  } catch (...) {
    schedule_reconnect(self, classify(std::current_exception()).detail);
  }
}

/// Waits one slice for notifications; pings when due. libpqxx may have
/// re-established the connection by itself: a new backend pid says so, and
/// notifications sent in between are lost just the same.
void wait_once(self_pointer self) {
  auto& st = self->state;
  try {
    auto& conn = *st.link->conn;
    auto slice = st.settings.poll_interval;
    conn.await_notification(static_cast<long>(slice.count() / 1000),
                            static_cast<long>((slice.count() % 1000) * 1000));
    if (steady_clock::now() >= st.next_ping) {
      guarded(st.guard, conn.sock(), [&] {
        pqxx::nontransaction ping{conn};
        ping.exec("SELECT 1");
      });
      st.next_ping = steady_clock::now() + st.settings.ping_interval;
    }
    if (auto pid = conn.backendpid(); pid != st.backend_pid) {
      st.backend_pid = pid;
      self->send(st.logic, atom::listening_v, pid);
    }
    self->send(self, atom::poll_v);
  } catch (...) {
    schedule_reconnect(self, classify(std::current_exception()).detail);
  }
}

} // namespace

listener_shell_actor::behavior_type listener_shell(
  listener_shell_actor::stateful_pointer<listener_shell_state> self,
  listener_actor logic, db_settings db, db_watchdog_actor watchdog,
  listen_settings settings) {
  auto& st = self->state;
  st.guard = call_guard{std::move(watchdog), db.stall_timeout};
  st.logic = std::move(logic);
  st.db = std::move(db);
  st.settings = std::move(settings);
  st.reconnect_delay =
    doubling_delay{st.settings.reconnect_min, st.settings.reconnect_max};
  // A restarted listener is not listening until it has said LISTEN again.
  metrics().listen_active = false;
  self->send(self, atom::poll_v);
  return {
    [=](atom::poll) {
      if (self->state.link)
        wait_once(self);
      else
        connect_and_listen(self);
    },
  };
}

listener_shell_actor spawn_listener_shell(caf::actor_system& sys,
                                          listener_actor logic, db_settings db,
                                          db_watchdog_actor watchdog,
                                          listen_settings settings) {
  return sys.spawn<caf::detached>(listener_shell, std::move(logic),
                                  std::move(db), std::move(watchdog),
                                  std::move(settings));
}

} // namespace backfilld
