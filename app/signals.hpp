// The shutdown signals, in one place: main blocks them before any thread
// exists (so every thread inherits the mask), and the main thread alone
// takes them with sigtimedwait, at every stage from waiting for the database
// to draining the pipeline.

#pragma once

#include <chrono>
#include <csignal>
#include <ctime>

namespace backfilld {

/// SIGTERM (docker stop, systemd) and SIGINT (Ctrl-C).
inline sigset_t shutdown_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

/// Blocks the shutdown signals in the calling thread and every thread it
/// starts afterwards; call first thing in main.
inline void block_shutdown_signals() {
  auto signals = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

/// Waits up to `timeout` for a shutdown signal; returns it, or 0.
inline int wait_for_shutdown_signal(std::chrono::milliseconds timeout) {
  auto signals = shutdown_signals();
  timespec ts;
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1'000'000);
  auto sig = sigtimedwait(&signals, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

inline const char* signal_name(int sig) {
  return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "a signal";
}

} // namespace backfilld
