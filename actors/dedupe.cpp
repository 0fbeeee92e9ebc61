#include "actors/dedupe.hpp"

#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/job_store.hpp"
#include "actors/lifetime.hpp"
#include "actors/retry_log.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/failpoints.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = dedupe_actor::stateful_pointer<dedupe_state>;

/// Where a batch of assets came from, for the log.
enum class found_by { notification, catch_up };

void log_queued(self_pointer self, const enqueue_result& r, found_by how) {
  if (how == found_by::catch_up) {
    metrics().catch_up_queued.add(job_kind::backfill);
    BF_INFO(self,
            "Catch-up: asset {} ({}) has transactions but no prices, "
            "starting backfill",
            r.asset, r.symbol);
  } else {
    metrics().jobs_queued.add(job_kind::backfill);
    BF_INFO(self, "New asset detected (id {}, {}), starting backfill", r.asset,
            r.symbol);
  }
}

void log_held_back(self_pointer self, const enqueue_result& r, found_by how) {
  // Said once when it failed; a cash account's every transaction, and every
  // catch-up, need not repeat it.
  if (how == found_by::catch_up || r.held_back == hold_reason::no_market_price)
    return;
  BF_INFO(self,
          "Asset {} ({}) failed before ({}); run `backfilld retry {}` to try "
          "again",
          r.asset, r.symbol, r.last_error, r.symbol);
}

/// Logs and routes what the store did with a batch of assets.
void handle_results(self_pointer self, const std::vector<enqueue_result>& rs,
                    found_by how) {
  bool new_work = false;
  std::vector<asset_id> to_track;
  for (const auto& r : rs) {
    switch (r.outcome) {
    case enqueue_outcome::queued:
      new_work = true;
      log_queued(self, r, how);
      break;
    case enqueue_outcome::has_prices:
      to_track.push_back(r.asset);
      break;
    case enqueue_outcome::already_queued:
      BF_DEBUG(self, "Asset {} ({}) already has a live job", r.asset, r.symbol);
      break;
    case enqueue_outcome::failed_before:
      log_held_back(self, r, how);
      break;
    case enqueue_outcome::unknown_asset:
      metrics().unknown_assets++;
      BF_WARN(self, "Dropping notification for asset {}: no such asset",
              r.asset);
      break;
    }
    if (r.extension_queued) {
      new_work = true;
      (how == found_by::catch_up ? metrics().catch_up_queued
                                 : metrics().jobs_queued)
        .add(job_kind::extend);
      BF_INFO(self,
              "Asset {} ({}) has transactions older than its prices, "
              "extending its history",
              r.asset, r.symbol);
    }
  }
  if (to_track.size() == 1)
    self->send(self->state.tracker, atom::track_v, to_track.front());
  else if (!to_track.empty())
    self->send(self->state.tracker, atom::track_v, std::move(to_track));
  if (new_work)
    self->send(self->state.queue, atom::wake_v);
}

// -- sightings ----------------------------------------------------------------

void flush_sightings(self_pointer self) {
  auto& st = self->state;
  if (st.enqueue_in_flight || st.sightings.empty())
    return;
  std::vector<asset_id> batch{st.sightings.begin(), st.sightings.end()};
  st.sightings.clear();
  st.enqueue_in_flight = true;
  self->request(st.store, st.settings.store_timeout, atom::enqueue_v, batch)
    .then(
      [=](const std::vector<enqueue_result>& results) {
        self->state.enqueue_in_flight = false;
        log_recovered(self, "Cannot queue sighted assets");
        handle_results(self, results, found_by::notification);
        flush_sightings(self);
      },
      [=](caf::error& err) {
        auto& st = self->state;
        st.enqueue_in_flight = false;
        log_retry(self, "Cannot queue sighted assets", err);
        for (auto asset : batch)
          if (st.sightings.size() < st.settings.max_sightings)
            st.sightings.insert(asset);
      });
}

void on_sighting(self_pointer self, const asset_seen& seen) {
  if (failpoint("dedupe.crash"))
    throw std::runtime_error("failpoint dedupe.crash");
  auto& st = self->state;
  if (st.sightings.size() >= st.settings.max_sightings &&
      st.sightings.count(seen.asset) == 0) {
    if (!st.sightings_overflowed)
      BF_WARN(self,
              "More than {} sighted assets wait for the database; dropping "
              "sightings until a catch-up scan finds them",
              st.settings.max_sightings);
    st.sightings_overflowed = true;
    return;
  }
  st.sightings.insert(seen.asset);
  flush_sightings(self);
}

// -- catch-up -----------------------------------------------------------------

/// The mark to scan from: the default one asks for a full scan.
scan_mark scan_from(self_pointer self) {
  auto& st = self->state;
  if (!st.mark || self->clock().now() >= st.next_full_catch_up)
    return scan_mark{};
  return *st.mark;
}

void scanned(self_pointer self, const catch_up_report& report) {
  auto& st = self->state;
  st.mark = report.mark;
  if (report.full)
    st.next_full_catch_up =
      self->clock().now() + st.settings.full_catch_up_interval;
  BF_DEBUG(self, "{} catch-up scan looked at {} assets (transactions up to {})",
           report.full ? "Full" : "Incremental", report.results.size(),
           report.mark.transaction);
  handle_results(self, report.results, found_by::catch_up);
}

/// Scans for missed work; never two scans at once (a request made while one
/// runs is served by one more scan after it).
void catch_up(self_pointer self) {
  auto& st = self->state;
  if (st.catch_up_in_flight) {
    st.catch_up_again = true;
    return;
  }
  st.catch_up_in_flight = true;
  st.sightings_overflowed = false;
  st.next_catch_up = self->clock().now() + st.settings.catch_up_interval;
  stopwatch took;
  self
    ->request(st.store, st.settings.store_timeout, atom::catch_up_v,
              scan_from(self))
    .then(
      [=](const catch_up_report& report) {
        metrics().catch_up_scan(report.full, took.elapsed());
        auto& st = self->state;
        st.catch_up_in_flight = false;
        log_recovered(self, "Catch-up scan failed");
        scanned(self, report);
        if (std::exchange(st.catch_up_again, false))
          catch_up(self);
      },
      [=](caf::error& err) {
        auto& st = self->state;
        st.catch_up_in_flight = false;
        log_retry(self, "Catch-up scan failed", err);
        // Try again at the next tick rather than waiting a whole interval.
        st.next_catch_up = self->clock().now();
      });
}

/// The tracker was restarted: the recounts it had pending, and those sent to
/// it while it was down, are lost. A full scan asks for them all again.
void on_new_tracker(self_pointer self, tracker_actor tracker) {
  auto& st = self->state;
  st.tracker = std::move(tracker);
  st.next_full_catch_up = self->clock().now();
  catch_up(self);
}

/// The one periodic timer: retries sightings the store could not take and
/// starts catch-up scans when due.
void on_tick(self_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, st.settings.poll_interval, atom::tick_v);
  flush_sightings(self);
  if (self->clock().now() >= st.next_catch_up || st.sightings_overflowed)
    catch_up(self);
}

} // namespace

dedupe_actor::behavior_type
dedupe(dedupe_actor::stateful_pointer<dedupe_state> self,
       enqueue_store_actor store, tracker_actor tracker, job_queue_actor queue,
       dedupe_settings settings) {
  auto& st = self->state;
  st.store = std::move(store);
  st.tracker = std::move(tracker);
  st.queue = std::move(queue);
  st.settings = std::move(settings);
  // Catch up at once: sightings sent to a predecessor may be lost.
  st.next_catch_up = self->clock().now();
  end_on_exception(self);
  self->send(self, atom::tick_v);
  return {
    [=](const asset_seen& seen) { on_sighting(self, seen); },
    [=](atom::catch_up) { catch_up(self); },
    [=](atom::tick) { on_tick(self); },
    [=](tracker_actor tracker) { on_new_tracker(self, std::move(tracker)); },
    [=](job_queue_actor queue) { self->state.queue = std::move(queue); },
  };
}

dedupe_actor spawn_dedupe(caf::actor_system& sys, db_settings db,
                          queue_settings lease, db_watchdog_actor watchdog,
                          tracker_actor tracker, job_queue_actor queue,
                          dedupe_settings settings) {
  auto store =
    spawn_job_store(sys, std::move(db), std::move(lease), std::move(watchdog));
  auto logic = sys.spawn(dedupe, enqueue_store_actor{store}, std::move(tracker),
                         std::move(queue), std::move(settings));
  bind_lifetimes(logic, store);
  return logic;
}

} // namespace backfilld
