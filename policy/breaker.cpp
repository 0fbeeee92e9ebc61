#include "policy/breaker.hpp"

#include <algorithm>

namespace backfilld {

circuit_breaker::circuit_breaker(breaker_settings settings)
  : settings_(settings) {
  settings_.failures = std::max(settings_.failures, 1);
  settings_.successes = std::max(settings_.successes, 1);
}

bool circuit_breaker::let_through(time_point now) {
  switch (state_) {
  case state::closed:
    return true;
  case state::open:
    if (now < open_until_)
      return false;
    state_ = state::half_open;
    successes_ = 0;
    probing_ = true;
    return true;
  case state::half_open:
    if (probing_)
      return false;
    probing_ = true;
    return true;
  }
  return false;
}

void circuit_breaker::succeeded() {
  switch (state_) {
  case state::closed:
    failures_ = 0;
    return;
  case state::open:
    // A request let through before the breaker opened: the outage it saw
    // may be over, but only a probe decides.
    return;
  case state::half_open:
    probing_ = false;
    if (++successes_ >= settings_.successes) {
      state_ = state::closed;
      failures_ = 0;
    }
    return;
  }
}

void circuit_breaker::failed(time_point now) {
  switch (state_) {
  case state::closed:
    if (++failures_ >= settings_.failures)
      open(now);
    return;
  case state::open:
    return;
  case state::half_open:
    open(now);
    return;
  }
}

void circuit_breaker::abandoned() {
  if (state_ == state::half_open)
    probing_ = false;
}

void circuit_breaker::open(time_point now) {
  state_ = state::open;
  open_until_ = now + settings_.cool_down;
  probing_ = false;
  successes_ = 0;
}

const char* to_string(circuit_breaker::state x) {
  switch (x) {
  case circuit_breaker::state::closed:
    return "closed";
  case circuit_breaker::state::open:
    return "open";
  case circuit_breaker::state::half_open:
    return "half-open";
  }
  return "unknown";
}

} // namespace backfilld
