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

/// Ends the process with `rc` after `after`, whatever still runs then (a
/// worker blocked in a transfer, a drain that hangs); says `why` first
/// when given.
void exit_after(int rc, milliseconds after, const char* why = nullptr) {
  std::thread{[rc, after, why] {
    std::this_thread::sleep_for(after);
    if (why)
      spdlog::critical("{}", why);
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
      exit_after(rc, milliseconds{2'000});
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
    exit_after(1, plan.deadline, "Shutdown overran the grace period; exiting");
  }
}

} // namespace backfilld
