#include "actors/scheduler.hpp"

#include <algorithm>
#include <ctime>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/lifetime.hpp"
#include "actors/retry_log.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "policy/schedule.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = scheduler_actor::stateful_pointer<scheduler_state>;
using std::chrono::duration_cast;
using std::chrono::seconds;

/// Unix seconds by the actor's clock.
int64_t unix_now(self_pointer self) {
  auto& st = self->state;
  return st.started_unix +
         duration_cast<seconds>(self->clock().now() - st.started).count();
}

seconds in_seconds(std::chrono::milliseconds x) {
  return duration_cast<seconds>(x);
}

/// A duration as the configuration writes it ("6h", "30min", "2s").
std::string readable(std::chrono::milliseconds x) {
  auto n = x.count();
  if (n % 3'600'000 == 0)
    return std::to_string(n / 3'600'000) + "h";
  if (n % 60'000 == 0)
    return std::to_string(n / 60'000) + "min";
  if (n % 1'000 == 0)
    return std::to_string(n / 1'000) + "s";
  return std::to_string(n) + "ms";
}

void next_batch(self_pointer self);

/// Queues a run unless one for the same assets waits already.
void add_run(self_pointer self, refresh_run run) {
  auto& runs = self->state.runs;
  // The front run is under way: a new one for its zone starts over after it.
  auto waiting = runs.empty() ? runs.end() : runs.begin() + 1;
  if (std::none_of(waiting, runs.end(),
                   [&](const refresh_run& r) { return r.zone == run.zone; }))
    runs.push_back(std::move(run));
  next_batch(self);
}

/// Re-reads the zones of the tracked assets: a new zone gets its next
/// after-close run, a zone without assets is forgotten.
void read_zones(self_pointer self) {
  auto& st = self->state;
  if (st.zones_in_flight)
    return;
  st.zones_in_flight = true;
  self->request(st.store, st.settings.store_timeout, atom::zones_v)
    .then(
      [=](const std::set<std::string>& zones) {
        auto& st = self->state;
        st.zones_in_flight = false;
        log_recovered(self, "Cannot read the exchange zones");
        auto now = unix_now(self);
        std::map<std::string, int64_t> next;
        for (const auto& zone : zones) {
          auto i = st.next_close.find(zone);
          next[zone] = i != st.next_close.end()
                         ? i->second
                         : next_after_close(
                             zone, now, in_seconds(st.settings.after_close));
        }
        st.next_close = std::move(next);
        st.zones_known = true;
      },
      [=](caf::error& err) {
        self->state.zones_in_flight = false;
        log_retry(self, "Cannot read the exchange zones", err);
      });
}

void finish_run(self_pointer self) {
  auto& st = self->state;
  const auto& run = st.runs.front();
  auto zone = run.zone.empty() ? std::string{"every zone"} : run.zone;
  if (st.queued_in_run > 0)
    BF_INFO(self, "Refresh run ({}, {}): queued {} refresh jobs", run.why, zone,
            st.queued_in_run);
  else
    BF_DEBUG(self, "Refresh run ({}, {}): nothing to queue", run.why, zone);
  st.runs.pop_front();
  st.cursor = 0;
  st.queued_in_run = 0;
  read_zones(self);
}

/// Queues the front run's next batch; one batch in flight at a time.
void next_batch(self_pointer self) {
  auto& st = self->state;
  if (st.batch_in_flight || st.runs.empty())
    return;
  st.batch_in_flight = true;
  const auto& run = st.runs.front();
  self
    ->request(st.store, st.settings.store_timeout, atom::refresh_v, run.zone,
              st.cursor, run.fresher_than)
    .then(
      [=](const refresh_batch& batch) {
        auto& st = self->state;
        st.batch_in_flight = false;
        log_recovered(self, "Cannot queue refreshes");
        if (batch.queued > 0)
          self->send(st.queue, atom::wake_v);
        st.queued_in_run += batch.queued;
        st.cursor = batch.last;
        if (!batch.more)
          finish_run(self);
        next_batch(self);
      },
      [=](caf::error& err) {
        // The run goes on from its cursor at the next tick.
        self->state.batch_in_flight = false;
        log_retry(self, "Cannot queue refreshes", err);
      });
}

/// The one periodic timer: starts the runs that are due.
void on_tick(self_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, st.settings.poll_interval, atom::tick_v);
  if (!st.zones_known)
    read_zones(self);
  auto now = unix_now(self);
  if (st.next_interval != 0 && now >= st.next_interval) {
    st.next_interval = next_interval(now, in_seconds(st.settings.interval));
    // What an after-close run refreshed within half an interval is current.
    caf::timespan half{st.settings.interval / 2};
    if (st.next_close.empty())
      add_run(self, refresh_run{{}, half, "interval"});
    // Zone by zone: an asset refreshed since its exchange's last close
    // already has the last final bar (weekends, nights, holidays), so only
    // the zones that trade around the clock get every interval.
    for (const auto& [zone, due] : st.next_close) {
      (void)due;
      auto closed =
        last_after_close(zone, now, in_seconds(st.settings.after_close));
      auto since_close =
        closed == 0 ? caf::timespan{0} : caf::timespan{seconds{now - closed}};
      add_run(self, refresh_run{zone, std::max(half, since_close), "interval"});
    }
  }
  for (auto& [zone, due] : st.next_close) {
    if (due == 0 || now < due)
      continue;
    due = next_after_close(zone, now, in_seconds(st.settings.after_close));
    // Whatever was refreshed since the close is current.
    add_run(self, refresh_run{zone, st.settings.after_close, "after close"});
  }
  next_batch(self);
}

} // namespace

scheduler_actor::behavior_type
scheduler(scheduler_actor::stateful_pointer<scheduler_state> self,
          schedule_store_actor store, job_queue_actor queue,
          scheduler_settings settings) {
  auto& st = self->state;
  st.store = std::move(store);
  st.queue = std::move(queue);
  st.settings = settings;
  st.started = self->clock().now();
  st.started_unix = settings.start_unix_time != 0
                      ? settings.start_unix_time
                      : static_cast<int64_t>(std::time(nullptr));
  end_on_exception(self);
  auto now = st.started_unix;
  st.next_interval = next_interval(now, in_seconds(settings.interval));
  // At start, whatever was not refreshed within an interval (a day when the
  // interval is off) is due: the daemon may have been down, or this
  // scheduler's predecessor died in the middle of a run.
  auto stale = settings.interval.count() > 0
                 ? caf::timespan{settings.interval}
                 : caf::timespan{std::chrono::hours{24}};
  st.runs.push_back(refresh_run{{}, stale, "start-up"});
  if (settings.interval.count() > 0)
    BF_INFO(self,
            "Refreshing tracked assets every {} and {} after each exchange's "
            "close",
            readable(settings.interval), readable(settings.after_close));
  else
    BF_INFO(self, "Refreshing tracked assets {} after each exchange's close",
            readable(settings.after_close));
  next_batch(self);
  self->send(self, atom::tick_v);
  return {
    [=](job_queue_actor queue) { self->state.queue = std::move(queue); },
    [=](atom::tick) { on_tick(self); },
  };
}

scheduler_actor spawn_scheduler(caf::actor_system& sys, db_settings db,
                                db_watchdog_actor watchdog,
                                job_queue_actor queue,
                                scheduler_settings settings,
                                schedule_store_settings store_settings) {
  auto store = spawn_schedule_store(sys, std::move(db), std::move(watchdog),
                                    store_settings);
  auto logic = sys.spawn(scheduler, store, std::move(queue), settings);
  bind_lifetimes(logic, store);
  return logic;
}

} // namespace backfilld
