// How backfilld's actors live and die: an I/O shell's life is tied to its
// logic actor, and an exception that escapes a handler ends the actor with
// a reason that says what happened (the supervisor logs it and restarts
// the role). No exception ever crosses an actor boundary.

#pragma once

#include <exception>
#include <string>
#include <utility>

#include <caf/abstract_actor.hpp>
#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/error.hpp>
#include <caf/exit_reason.hpp>
#include <caf/make_message.hpp>
#include <caf/message_id.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>

#include "telemetry/log.hpp"

namespace backfilld {

/// Sends an exit message carrying `reason` (anon_send_exit only takes an
/// exit_reason, which would lose why a shell died).
inline void send_exit_with(const caf::strong_actor_ptr& whom,
                           caf::error reason) {
  if (whom)
    whom->enqueue(
      nullptr, caf::make_message_id(),
      caf::make_message(caf::exit_msg{whom->address(), std::move(reason)}),
      nullptr);
}

/// When `logic` ends, for whatever reason, `shell` is told to exit; when
/// `shell` dies abnormally, `logic` dies with it, so the supervisor restarts
/// the pair. `logic` keeps `shell` alive until then.
template <class Logic, class Shell>
void bind_lifetimes(const Logic& logic, const Shell& shell) {
  auto logic_ptr = caf::actor_cast<caf::abstract_actor*>(logic);
  auto shell_ptr = caf::actor_cast<caf::abstract_actor*>(shell);
  logic_ptr->attach_functor([strong = caf::actor_cast<caf::strong_actor_ptr>(
                               shell)](const caf::error& reason) {
    send_exit_with(
      strong, reason ? reason : caf::error{caf::exit_reason::user_shutdown});
  });
  shell_ptr->attach_functor(
    [weak = logic_ptr->address()](const caf::error& reason) {
      if (reason && reason != caf::exit_reason::user_shutdown)
        send_exit_with(caf::actor_cast<caf::strong_actor_ptr>(weak), reason);
    });
}

/// Makes an exception escaping one of `self`'s handlers end the actor with
/// `sec::runtime_error` carrying the exception's text, and logs it. (CAF's
/// default handler drops the text.)
template <class Self>
void end_on_exception(Self* self) {
  self->set_exception_handler(
    [](caf::scheduled_actor* actor, std::exception_ptr& error) -> caf::error {
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
        // Keep the generic text.
      }
      spdlog::error("[{}] unhandled exception: {}", actor->name(), what);
      return caf::make_error(caf::sec::runtime_error, std::move(what));
    });
}

} // namespace backfilld
