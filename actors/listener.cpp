#include "actors/listener.hpp"

#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/lifetime.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "notify/notification.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/failpoints.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = listener_actor::stateful_pointer<listener_state>;

/// Enough of a payload to recognise it in a log line, without flooding it.
std::string excerpt(const std::string& payload) {
  constexpr size_t max = 120;
  if (payload.size() <= max)
    return payload;
  return payload.substr(0, max) + "… (" + std::to_string(payload.size()) +
         " bytes)";
}

void on_notification(self_pointer self, const pg_notification& n) {
  if (failpoint("listener.crash"))
    throw std::runtime_error("failpoint listener.crash");
  metrics().notifications++;
  asset_seen seen;
  if (auto f = parse_notification(n.payload, seen)) {
    metrics().notifications_rejected++;
    BF_WARN(self, "Rejected notification on {}: {} (payload '{}')", n.channel,
            f.detail, excerpt(n.payload));
    return;
  }
  BF_DEBUG(self, "Notification for asset {} (transaction {}, portfolio {})",
           seen.asset, seen.transaction, seen.portfolio);
  self->send(self->state.queue, seen);
}

void on_listening(self_pointer self, int32_t backend_pid) {
  auto& st = self->state;
  if (st.listens++ == 0) {
    BF_INFO(self,
            "Backfill daemon listening for new transactions... "
            "(backend pid {})",
            backend_pid);
  } else {
    metrics().listener_reconnects++;
    BF_INFO(self,
            "Listening again (backend pid {}); catching up on "
            "notifications sent while away",
            backend_pid);
  }
  // LISTEN first, then scan: nothing committed in between can slip through.
  self->send(st.queue, atom::catch_up_v);
}

} // namespace

listener_actor::behavior_type
listener(listener_actor::stateful_pointer<listener_state> self,
         dedupe_actor queue) {
  self->state.queue = std::move(queue);
  end_on_exception(self);
  return {
    [=](const pg_notification& n) { on_notification(self, n); },
    [=](atom::listening, int32_t backend_pid) {
      on_listening(self, backend_pid);
    },
    [=](atom::lost, const std::string& reason) {
      BF_WARN(self, "LISTEN connection lost: {}; reconnecting", reason);
    },
    [=](dedupe_actor queue) { self->state.queue = std::move(queue); },
  };
}

listener_actor spawn_listener(caf::actor_system& sys, dedupe_actor queue,
                              db_settings db, db_watchdog_actor watchdog,
                              listen_settings settings) {
  auto logic = sys.spawn(listener, std::move(queue));
  auto shell = spawn_listener_shell(sys, logic, std::move(db),
                                    std::move(watchdog), std::move(settings));
  bind_lifetimes(logic, shell);
  return logic;
}

} // namespace backfilld
