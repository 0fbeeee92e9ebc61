#include "actors/rate_limiter.hpp"

#include <algorithm>
#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/lifetime.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/failpoints.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = rate_limiter_actor::stateful_pointer<rate_limiter_state>;
using time_point = caf::actor_clock::time_point;

/// Grants to a provider's waiting fetches while its tokens last; returns
/// when its next token is due, if anyone still waits.
std::optional<time_point> serve_lane(const std::string& name,
                                     provider_lane& lane, time_point now,
                                     uint64_t& expired) {
  for (;;) {
    // An asker whose request timed out asks again (or gave up): granting
    // its old request would spend a token on nobody.
    while (!lane.waiting.empty() && lane.waiting.front().deadline <= now) {
      lane.waiting.pop_front();
      ++expired;
      metrics().limiter_expired++;
    }
    if (lane.waiting.empty() || !lane.bucket.try_take(now))
      break;
    metrics().limiter_waited(name, now - lane.waiting.front().since);
    lane.waiting.front().promise.deliver(atom::grant_v);
    lane.waiting.pop_front();
  }
  if (lane.waiting.empty())
    return std::nullopt;
  return now + lane.bucket.wait_time(now);
}

/// Serves every provider, then sleeps until the earliest next token. One
/// provider's long pause must not delay another's next token, so a tick due
/// sooner than the one on its way is sent as well (the later one then finds
/// nothing to do); each is sent for a waiting request, so they are bounded
/// by the fetches in flight.
void serve_waiting(self_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  std::optional<time_point> next;
  for (auto& [name, lane] : st.lanes)
    if (auto due = serve_lane(name, lane, now, st.expired))
      next = next ? std::min(*next, *due) : *due;
  if (!next)
    return;
  if (st.tick_at && *st.tick_at <= *next)
    return;
  self->delayed_send(self, *next - now, atom::tick_v);
  st.tick_at = *next;
}

/// The provider's current rate (after 429s) into its bucket.
void apply_pace(provider_lane& lane, time_point now) {
  if (lane.bucket.rate() != lane.pace.rate())
    lane.bucket.set_rate(lane.pace.rate(), now);
}

/// A provider's configured limit under the cluster's share `cap` (0: none).
provider_limit capped(provider_limit limit, double cap) {
  if (cap > 0) {
    limit.rate = std::min(limit.rate, cap);
    limit.burst = std::min(limit.burst, std::max(1.0, cap));
  }
  return limit;
}

/// Every provider's lane under the new cap. Waiting fetches stay in line,
/// a 429's pause and slowdown stay in force.
void apply_cap(self_pointer self, double cap) {
  auto& st = self->state;
  if (cap == st.cap)
    return;
  st.cap = cap;
  auto now = self->clock().now();
  for (const auto& configured : st.settings.providers) {
    auto i = st.lanes.find(configured.name);
    if (i == st.lanes.end())
      continue;
    auto limit = capped(configured, cap);
    auto& lane = i->second;
    lane.pace.set_ceiling(limit.rate);
    lane.bucket.set_limit(limit.rate, limit.burst, now);
    apply_pace(lane, now);
  }
  if (cap > 0)
    BF_INFO(self, "cluster rate cap now {} requests/s per provider", cap);
  else
    BF_INFO(self, "cluster rate cap lifted");
  serve_waiting(self);
}

} // namespace

rate_limiter_actor::behavior_type
rate_limiter(rate_limiter_actor::stateful_pointer<rate_limiter_state> self,
             rate_limiter_settings settings) {
  auto now = self->clock().now();
  for (const auto& limit : settings.providers)
    self->state.lanes.emplace(
      limit.name, provider_lane{token_bucket{limit.rate, limit.burst, now},
                                adaptive_rate{limit.rate, now},
                                {}});
  self->state.settings = std::move(settings);
  end_on_exception(self);
  return {
    [=](atom::acquire,
        const std::string& provider) -> caf::result<atom::grant> {
      if (failpoint("rate-limiter.crash"))
        throw std::runtime_error("failpoint rate-limiter.crash");
      auto& st = self->state;
      auto i = st.lanes.find(provider);
      if (i == st.lanes.end())
        return make_error(ec::invalid_config,
                          "no rate limit for provider " + provider);
      auto& lane = i->second;
      auto now = self->clock().now();
      if (lane.waiting.empty() && lane.bucket.try_take(now))
        return atom::grant_v;
      auto promise = self->make_response_promise<atom::grant>();
      auto deadline = st.settings.grant_timeout.count() > 0
                        ? now + st.settings.grant_timeout
                        : time_point::max();
      // Counted when it starts waiting, so that a wait that never ends (a
      // long 429 pause) shows before it does.
      metrics().limiter_waits.add(provider);
      lane.waiting.push_back(limiter_wait{promise, deadline, now});
      serve_waiting(self);
      return promise;
    },
    [=](atom::throttle, const std::string& provider, caf::timespan pause) {
      auto& st = self->state;
      auto i = st.lanes.find(provider);
      if (i == st.lanes.end())
        return;
      auto& lane = i->second;
      auto now = self->clock().now();
      metrics().throttled.add(provider);
      lane.pace.throttled(now);
      apply_pace(lane, now);
      lane.bucket.pause_until(now + pause);
      BF_WARN(
        self,
        "{} asked us to slow down; pausing its fetches for {} ms, then "
        "{:.3g} requests/s",
        provider,
        std::chrono::duration_cast<std::chrono::milliseconds>(pause).count(),
        lane.pace.rate());
    },
    [=](atom::done, const std::string& provider) {
      auto i = self->state.lanes.find(provider);
      if (i == self->state.lanes.end())
        return;
      auto now = self->clock().now();
      i->second.pace.succeeded(now);
      apply_pace(i->second, now);
    },
    [=](atom::cap, double cap) { apply_cap(self, cap); },
    [=](atom::tick) {
      auto& st = self->state;
      // A superseded (later) tick leaves the earlier one's time alone.
      if (st.tick_at && *st.tick_at <= self->clock().now())
        st.tick_at.reset();
      serve_waiting(self);
    },
  };
}

rate_limiter_actor spawn_rate_limiter(caf::actor_system& sys,
                                      rate_limiter_settings settings) {
  return sys.spawn(rate_limiter, std::move(settings));
}

} // namespace backfilld
