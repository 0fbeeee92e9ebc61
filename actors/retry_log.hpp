// Logging a round trip that fails and is retried, without flooding the log.
//
// A role retries a failed store round trip at every tick; while the
// database is away that is one failure every few seconds, for as long as
// the outage lasts. Each cause is said once at warning level, its repeats
// only at debug, and the recovery once; the summary line counts the outage
// (`db_unavailable`). Each role keeps a `log_once said` in its state.

#pragma once

#include <string>

#include <caf/error.hpp>

#include "messages/error.hpp"
#include "telemetry/log.hpp"
#include "telemetry/log_once.hpp"

namespace backfilld {

/// `what` ("Cannot claim jobs") failed with `err` and will be retried.
template <class Self>
void log_retry(Self* self, const char* what, const caf::error& err) {
  if (self->state.said.failed(what, cause_of(err)))
    BF_WARN(self, "{}: {}; retrying", what, render(err));
  else
    BF_DEBUG(self, "{}: {}; retrying", what, render(err));
}

/// `what` succeeded: says so once when it had been failing.
template <class Self>
void log_recovered(Self* self, const char* what) {
  if (auto quiet = self->state.said.recovered(what))
    BF_INFO(self, "{}: works again (after {} more failed tries)", what, *quiet);
}

} // namespace backfilld
