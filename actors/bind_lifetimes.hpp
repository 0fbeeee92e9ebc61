// Ties an I/O shell's life to its logic actor, like a link that also
// propagates a normal exit (CAF 0.17 links ignore those).

#pragma once

#include <utility>

#include <caf/abstract_actor.hpp>
#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/error.hpp>
#include <caf/exit_reason.hpp>
#include <caf/make_message.hpp>
#include <caf/message_id.hpp>
#include <caf/system_messages.hpp>

namespace backfilld {

/// Sends an exit message carrying `reason` (anon_send_exit only takes an
/// exit_reason, which would lose why a shell died).
inline void send_exit_with(const caf::strong_actor_ptr& whom,
                           caf::error reason) {
  if (whom)
    whom->enqueue(nullptr, caf::make_message_id(),
                  caf::make_message(caf::exit_msg{whom->address(),
                                                  std::move(reason)}),
                  nullptr);
}

/// When `logic` ends, for whatever reason, `shell` is told to exit; when
/// `shell` dies abnormally, `logic` dies with it, so the supervisor restarts
/// the pair. `logic` keeps `shell` alive until then.
template <class Logic, class Shell>
void bind_lifetimes(const Logic& logic, const Shell& shell) {
  auto logic_ptr = caf::actor_cast<caf::abstract_actor*>(logic);
  auto shell_ptr = caf::actor_cast<caf::abstract_actor*>(shell);
  logic_ptr->attach_functor(
    [strong = caf::actor_cast<caf::strong_actor_ptr>(shell)](
      const caf::error& reason) {
      send_exit_with(strong, reason ? reason
                                    : caf::error{
                                      caf::exit_reason::user_shutdown});
    });
  shell_ptr->attach_functor(
    [weak = logic_ptr->address()](const caf::error& reason) {
      if (reason && reason != caf::exit_reason::user_shutdown)
        send_exit_with(caf::actor_cast<caf::strong_actor_ptr>(weak), reason);
    });
}

} // namespace backfilld
