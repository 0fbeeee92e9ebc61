#include "actors/rate_limiter.hpp"

#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/lifetime.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/failpoints.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = rate_limiter_actor::stateful_pointer<rate_limiter_state>;

/// Grants to waiting fetches while tokens last; then sleeps until the next
/// token is due.
void serve_waiting(self_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (;;) {
    // An asker whose request timed out asks again (or gave up): granting
    // its old request would spend a token on nobody.
    while (!st.waiting.empty() && st.waiting.front().deadline <= now) {
      st.waiting.pop_front();
      ++st.expired;
      metrics().limiter_expired++;
    }
    if (st.waiting.empty() || !st.bucket->try_take(now))
      break;
    metrics().limiter_wait_seconds.observe(now - st.waiting.front().since);
    st.waiting.front().promise.deliver(atom::grant_v);
    st.waiting.pop_front();
  }
  if (!st.waiting.empty())
    st.tick.schedule(self, st.bucket->wait_time(now));
}

} // namespace

rate_limiter_actor::behavior_type
rate_limiter(rate_limiter_actor::stateful_pointer<rate_limiter_state> self,
             rate_limiter_settings settings) {
  self->state.bucket.emplace(settings.rate, settings.burst,
                             self->clock().now());
  self->state.settings = settings;
  end_on_exception(self);
  return {
    [=](atom::acquire) -> caf::result<atom::grant> {
      if (failpoint("rate-limiter.crash"))
        throw std::runtime_error("failpoint rate-limiter.crash");
      auto& st = self->state;
      if (st.waiting.empty() && st.bucket->try_take(self->clock().now()))
        return atom::grant_v;
      auto promise = self->make_response_promise<atom::grant>();
      auto now = self->clock().now();
      auto deadline = st.settings.grant_timeout.count() > 0
                        ? now + st.settings.grant_timeout
                        : caf::actor_clock::time_point::max();
      // Counted when it starts waiting, so that a wait that never ends (a
      // long 429 pause) shows before it does.
      metrics().limiter_waits++;
      st.waiting.push_back(limiter_wait{promise, deadline, now});
      serve_waiting(self);
      return promise;
    },
    [=](atom::throttle, caf::timespan pause) {
      auto& st = self->state;
      metrics().throttled++;
      BF_WARN(
        self,
        "Provider asked us to slow down; pausing all fetches for "
        "{} ms",
        std::chrono::duration_cast<std::chrono::milliseconds>(pause).count());
      st.bucket->pause_until(self->clock().now() + pause);
    },
    [=](atom::tick) {
      self->state.tick.fired();
      serve_waiting(self);
    },
  };
}

rate_limiter_actor spawn_rate_limiter(caf::actor_system& sys,
                                      rate_limiter_settings settings) {
  return sys.spawn(rate_limiter, settings);
}

} // namespace backfilld
