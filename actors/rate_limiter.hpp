// The rate limiter: a token bucket that grants provider requests, shared by
// every fetch on this node. A 429 pauses it for everyone.

#pragma once

#include <deque>
#include <optional>

#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/pending_tick.hpp"
#include "messages/interfaces.hpp"
#include "policy/token_bucket.hpp"

namespace backfilld {

struct rate_limiter_settings {
  /// Average requests per second.
  double rate = 2.0;
  /// Requests allowed back to back after a quiet spell.
  double burst = 5.0;
  /// How long an asker waits for its grant (its request's timeout); a grant
  /// after that would burn a token nobody uses. Zero: askers wait forever.
  caf::timespan grant_timeout{0};
};

/// A fetch waiting for a token, and when it stops waiting.
struct limiter_wait {
  caf::typed_response_promise<atom::grant> promise;
  caf::actor_clock::time_point deadline;
  /// When it started waiting, for `backfilld_rate_limiter_wait_seconds`.
  caf::actor_clock::time_point since;
};

struct rate_limiter_state {
  static inline const char* name = "rate-limiter";
  std::optional<token_bucket> bucket;
  /// Fetches waiting for a token, first come first served. Bounded by the
  /// fetchers' concurrency and by each asker's timeout: a request whose
  /// asker gave up is dropped, never granted.
  std::deque<limiter_wait> waiting;
  rate_limiter_settings settings;
  /// Requests dropped because their asker had stopped waiting.
  uint64_t expired = 0;
  /// The one timer: the next token for the oldest waiting request.
  pending_tick tick;
};

rate_limiter_actor::behavior_type
rate_limiter(rate_limiter_actor::stateful_pointer<rate_limiter_state> self,
             rate_limiter_settings settings);

rate_limiter_actor spawn_rate_limiter(caf::actor_system& sys,
                                      rate_limiter_settings settings);

} // namespace backfilld
