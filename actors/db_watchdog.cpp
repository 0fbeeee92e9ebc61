#include "actors/db_watchdog.hpp"

#include <atomic>

#include <sys/socket.h>

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/type_ids.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

db_watchdog_actor::behavior_type
db_watchdog(db_watchdog_actor::stateful_pointer<db_watchdog_state> self) {
  return {
    [=](atom::arm, uint64_t token, int32_t socket, caf::timespan bound) {
      self->state.armed[token] = socket;
      self->delayed_send(self, bound, atom::tick_v, token);
    },
    [=](atom::disarm, uint64_t token) { self->state.armed.erase(token); },
    [=](atom::tick, uint64_t token) {
      auto i = self->state.armed.find(token);
      if (i == self->state.armed.end())
        return;
      BF_WARN(self,
              "A database call on socket {} is stuck past its bound; cutting "
              "the connection so that it reconnects",
              i->second);
      // Only shuts the socket down: the shell still owns and closes it.
      ::shutdown(i->second, SHUT_RDWR);
      self->state.armed.erase(i);
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
