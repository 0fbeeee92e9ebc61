// How the main thread of a running daemon (the pipeline, or a fetcher node)
// waits: for its top actor to end, or for SIGTERM/SIGINT, which asks the
// actor to drain; a second signal, or a drain that overruns, ends the
// process at once. The state worth keeping is in the database (or the
// core's) by then: leases and catch-up recover the rest.

#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>

namespace backfilld {

struct foreground_plan {
  /// Logged at info when the actor ended cleanly.
  std::string stopped_line;
  /// Asks the top actor to drain; called once, on the first signal.
  std::function<void()> ask_to_stop;
  /// After the first signal, exit 1 unless done within this.
  std::chrono::milliseconds deadline{30'000};
};

/// Runs until the monitored `top` actor ends; returns its exit code (0 for a
/// requested stop, 1 otherwise). The process then ends within 2 s even if a
/// worker is still blocked in a transfer (a hung provider).
int run_in_foreground(caf::actor_system& sys, const caf::actor_addr& top,
                      const foreground_plan& plan);

} // namespace backfilld
