#include "actors/db_watchdog.hpp"

#include <atomic>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/type_ids.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = db_watchdog_actor::stateful_pointer<db_watchdog_state>;

/// Schedules the one tick for the earliest deadline, if none is pending.
void schedule_tick(self_pointer self) {
  auto& st = self->state;
  if (st.tick.scheduled() || st.armed.empty())
    return;
  auto earliest = st.armed.begin()->second.deadline;
  for (const auto& [token, call] : st.armed)
    earliest = std::min(earliest, call.deadline);
  st.tick.schedule(self, earliest - self->clock().now());
}

/// Cuts every call past its deadline, unless its connection received data
/// within the bound: then it is a multi-statement call that is making
/// progress, and the bound applies from that data on.
void cut_overdue(self_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (auto i = st.armed.begin(); i != st.armed.end();) {
    if (i->second.deadline > now) {
      ++i;
      continue;
    }
    auto quiet = socket_quiet_for(i->second.socket);
    if (quiet && *quiet < i->second.bound) {
      i->second.deadline = now + (i->second.bound - *quiet);
      ++i;
      continue;
    }
    BF_WARN(self,
            "A database call on socket {} is stuck past its bound; cutting "
            "the connection so that it reconnects",
            i->second.socket);
    // Only shuts the socket down: the shell still owns and closes it.
    ::shutdown(i->second.socket, SHUT_RDWR);
    i = st.armed.erase(i);
  }
}

} // namespace

std::optional<std::chrono::milliseconds> socket_quiet_for(int socket) {
  tcp_info info{};
  socklen_t size = sizeof(info);
  if (::getsockopt(socket, IPPROTO_TCP, TCP_INFO, &info, &size) != 0)
    return std::nullopt;
  return std::chrono::milliseconds{info.tcpi_last_data_recv};
}

db_watchdog_actor::behavior_type
db_watchdog(db_watchdog_actor::stateful_pointer<db_watchdog_state> self) {
  return {
    [=](atom::arm, uint64_t token, int32_t socket, caf::timespan bound) {
      self->state.armed[token] = armed_call{
        socket, self->clock().now() + bound,
        std::chrono::duration_cast<std::chrono::milliseconds>(bound)};
      schedule_tick(self);
    },
    [=](atom::disarm, uint64_t token) { self->state.armed.erase(token); },
    [=](atom::tick) {
      self->state.tick.fired();
      cut_overdue(self);
      schedule_tick(self);
    },
  };
}

void call_guard::begin(int socket) {
  static std::atomic<uint64_t> next_token{1};
  if (!watchdog_ || socket < 0)
    return;
  token_ = next_token++;
  caf::anon_send(watchdog_, atom::arm_v, token_, static_cast<int32_t>(socket),
                 caf::timespan{bound_});
}

void call_guard::end() {
  if (!watchdog_ || token_ == 0)
    return;
  caf::anon_send(watchdog_, atom::disarm_v, token_);
  token_ = 0;
}

void watch_calls(db_session& session, call_guard& guard) {
  session.on_calls([&guard](int socket) { guard.begin(socket); },
                   [&guard] { guard.end(); });
}

} // namespace backfilld
