#include "actors/tracker.hpp"

#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/lifetime.hpp"
#include "actors/retry_log.hpp"
#include "actors/tracker_store.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/failpoints.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = tracker_actor::stateful_pointer<tracker_state>;

void send_batch(self_pointer self);

void answer_flush_waiters(self_pointer self) {
  auto& st = self->state;
  for (auto& waiter : st.flush_waiters)
    waiter.deliver(st.changed_since_flush);
  st.flush_waiters.clear();
  st.changed_since_flush = 0;
}

void retry_later(self_pointer self) {
  self->state.retry.schedule(self, self->state.settings.retry_delay);
}

/// Sends everything pending as one batch, unless a batch is out already.
void send_batch(self_pointer self) {
  auto& st = self->state;
  if (st.in_flight)
    return;
  if (st.pending.empty()) {
    answer_flush_waiters(self);
    return;
  }
  std::vector<asset_id> assets{st.pending.begin(), st.pending.end()};
  std::vector<asset_id> fresh{st.fresh.begin(), st.fresh.end()};
  st.pending.clear();
  st.fresh.clear();
  st.in_flight = true;
  self
    ->request(st.store, st.settings.store_timeout, atom::track_v, assets, fresh)
    .then(
      [=](int32_t changed) {
        auto& st = self->state;
        st.in_flight = false;
        st.changed_since_flush += changed;
        log_recovered(self, "Cannot refresh tracking");
        BF_DEBUG(self, "Refreshed tracking of {} assets ({} rows changed)",
                 assets.size(), changed);
        send_batch(self);
      },
      [=](caf::error& err) {
        auto& st = self->state;
        st.in_flight = false;
        // Keep the batch: tracking must end up right, whenever the database
        // is back.
        st.pending.insert(assets.begin(), assets.end());
        st.fresh.insert(fresh.begin(), fresh.end());
        log_retry(self, "Cannot refresh tracking", err);
        retry_later(self);
      });
}

} // namespace

tracker_actor::behavior_type
tracker(tracker_actor::stateful_pointer<tracker_state> self,
        tracker_store_actor store, tracker_settings settings) {
  self->state.store = std::move(store);
  self->state.settings = settings;
  end_on_exception(self);
  return {
    [=](atom::track, asset_id asset) {
      if (failpoint("tracker.crash"))
        throw std::runtime_error("failpoint tracker.crash");
      self->state.pending.insert(asset);
      send_batch(self);
    },
    [=](atom::track, asset_id asset, atom::write) {
      self->state.pending.insert(asset);
      self->state.fresh.insert(asset);
      send_batch(self);
    },
    [=](atom::track, const std::vector<asset_id>& assets) {
      self->state.pending.insert(assets.begin(), assets.end());
      send_batch(self);
    },
    [=](atom::flush) {
      auto promise = self->make_response_promise<int32_t>();
      self->state.flush_waiters.push_back(promise);
      send_batch(self);
      return promise;
    },
    [=](atom::tick) {
      self->state.retry.fired();
      send_batch(self);
    },
  };
}

tracker_actor spawn_tracker(caf::actor_system& sys, db_settings db,
                            db_watchdog_actor watchdog,
                            tracker_settings settings) {
  auto store = spawn_tracker_store(sys, std::move(db), std::move(watchdog));
  auto logic = sys.spawn(tracker, store, settings);
  bind_lifetimes(logic, store);
  return logic;
}

} // namespace backfilld
