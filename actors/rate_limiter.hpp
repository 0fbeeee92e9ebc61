// The rate limiter: a token bucket per provider that grants that provider's
// requests, shared by every fetch on this node. A 429 pauses only the
// provider that sent it, which then comes back gradually.

#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_response_promise.hpp>

#include "messages/interfaces.hpp"
#include "policy/adaptive_rate.hpp"
#include "policy/token_bucket.hpp"

namespace backfilld {

/// One provider's limit.
struct provider_limit {
  /// The provider's name, as the fetcher's chains spell it ("yahoo").
  std::string name;
  /// Average requests per second, and the most in any one second.
  double rate = 2.0;
  /// Requests allowed back to back after a quiet spell (within the rate's
  /// one-second ceiling).
  double burst = 5.0;
};

struct rate_limiter_settings {
  /// Every provider the fetcher may ask for; a grant for any other name is
  /// refused, so the set of buckets is fixed at start.
  std::vector<provider_limit> providers{{"yahoo", 2.0, 5.0}};
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

/// One provider's bucket, its pacing after 429s and its line of waiters.
struct provider_lane {
  token_bucket bucket;
  adaptive_rate pace;
  /// Fetches waiting for a token, first come first served. Bounded by the
  /// fetchers' concurrency and by each asker's timeout: a request whose
  /// asker gave up is dropped, never granted.
  std::deque<limiter_wait> waiting;
};

struct rate_limiter_state {
  static inline const char* name = "rate-limiter";
  /// One lane per configured provider, made at start and never added to.
  std::map<std::string, provider_lane> lanes;
  rate_limiter_settings settings;
  /// The cluster's share for this process (`atom::cap`); 0: none.
  double cap = 0;
  /// Requests dropped because their asker had stopped waiting.
  uint64_t expired = 0;
  /// When the next tick is due: the earliest next token of any provider with
  /// a waiting request. Unset when none is on its way.
  std::optional<caf::actor_clock::time_point> tick_at;
};

rate_limiter_actor::behavior_type
rate_limiter(rate_limiter_actor::stateful_pointer<rate_limiter_state> self,
             rate_limiter_settings settings);

rate_limiter_actor spawn_rate_limiter(caf::actor_system& sys,
                                      rate_limiter_settings settings);

} // namespace backfilld
