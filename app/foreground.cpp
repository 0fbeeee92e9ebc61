#include "app/foreground.hpp"

#include <cstdlib>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>
#include <spdlog/spdlog.h>

#include "app/signals.hpp"
#include "messages/error.hpp"

namespace backfilld {

namespace {

using std::chrono::milliseconds;

/// Ends the process after a grace of its own: a thread blocked in a
/// transfer must not keep it alive.
void exit_soon(int rc, milliseconds after) {
  std::thread{[rc, after] {
    std::this_thread::sleep_for(after);
    std::_Exit(rc);
  }}.detach();
}

} // namespace

int run_in_foreground(caf::actor_system& sys, const caf::actor_addr& top,
                      const foreground_plan& plan) {
  caf::scoped_actor self{sys};
  self->monitor(top);
  bool stopping = false;
  for (;;) {
    bool down = false;
    caf::error reason;
    self->receive(
      [&](caf::down_msg& dm) {
        down = true;
        reason = std::move(dm.reason);
      },
      caf::after(milliseconds{0}) >> [] {});
    if (down) {
      // Anything but a requested stop is a failure the container's restart
      // policy should see.
      auto clean = !reason || reason == caf::exit_reason::normal ||
                   reason == caf::exit_reason::user_shutdown;
      auto rc = clean ? 0 : 1;
      if (clean)
        spdlog::info("{}", plan.stopped_line);
      else
        spdlog::critical("Exiting: {}", render(reason));
      exit_soon(rc, milliseconds{2'000});
      return rc;
    }
    auto sig = wait_for_shutdown_signal(milliseconds{100});
    if (sig == 0)
      continue;
    if (stopping) {
      // The operator insists.
      spdlog::warn("Received {} again; exiting now", signal_name(sig));
      std::_Exit(1);
    }
    stopping = true;
    spdlog::info("Received {}; draining", signal_name(sig));
    plan.ask_to_stop();
    // Whatever hangs past the deadline must not keep the container from
    // stopping.
    std::thread{[deadline = plan.deadline] {
      std::this_thread::sleep_for(deadline);
      spdlog::critical("Shutdown overran the grace period; exiting");
      std::_Exit(1);
    }}.detach();
  }
}

} // namespace backfilld
