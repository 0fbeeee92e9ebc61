#include "actors/dedupe.hpp"

#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/job_store.hpp"
#include "actors/lifetime.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "provider/symbols.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/failpoints.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = dedupe_actor::stateful_pointer<dedupe_state>;
using std::chrono::steady_clock;

void flush_outbox(self_pointer self);
void try_claim(self_pointer self);

// -- bookkeeping --------------------------------------------------------------

/// Publishes how many claimed jobs are in the fetchers' hands.
void update_gauge(self_pointer self) {
  size_t total = 0;
  for (const auto& [fetcher, jobs] : self->state.held)
    total += jobs.size();
  metrics().jobs_in_memory_set(static_cast<int64_t>(total));
}

void forget(self_pointer self, const caf::actor_addr& fetcher, job_id job) {
  if (auto i = self->state.held.find(fetcher); i != self->state.held.end())
    i->second.erase(job);
  update_gauge(self);
}

std::vector<job_id> all_held(self_pointer self) {
  std::vector<job_id> result;
  for (const auto& [fetcher, jobs] : self->state.held)
    result.insert(result.end(), jobs.begin(), jobs.end());
  return result;
}

caf::actor_addr sender_of(self_pointer self) {
  return caf::actor_cast<caf::actor_addr>(self->current_sender());
}

// -- sightings and catch-up ---------------------------------------------------

/// Logs and routes what the store did with a batch of assets.
void handle_results(self_pointer self, const std::vector<enqueue_result>& rs,
                    bool from_catch_up) {
  bool new_work = false;
  std::vector<asset_id> to_track;
  for (const auto& r : rs) {
    switch (r.outcome) {
    case enqueue_outcome::queued:
      new_work = true;
      if (from_catch_up) {
        metrics().catch_up_queued++;
        BF_INFO(self,
                "Catch-up: asset {} ({}) has transactions but no prices, "
                "starting backfill",
                r.asset, r.symbol);
      } else {
        metrics().jobs_queued++;
        BF_INFO(self, "New asset detected (id {}, {}), starting backfill",
                r.asset, r.symbol);
      }
      break;
    case enqueue_outcome::has_prices:
      to_track.push_back(r.asset);
      break;
    case enqueue_outcome::already_queued:
      BF_DEBUG(self, "Asset {} ({}) already has a live job", r.asset, r.symbol);
      break;
    case enqueue_outcome::failed_before:
      // Said once when it failed; a cash account's every transaction need
      // not repeat it.
      if (!from_catch_up && r.last_error.rfind("no_market_price", 0) != 0)
        BF_INFO(self,
                "Asset {} ({}) failed before ({}); run `backfilld retry {}` "
                "to try again",
                r.asset, r.symbol, r.last_error, r.symbol);
      break;
    case enqueue_outcome::unknown_asset:
      metrics().unknown_assets++;
      BF_WARN(self, "Dropping notification for asset {}: no such asset",
              r.asset);
      break;
    }
    if (r.extension_queued) {
      new_work = true;
      BF_INFO(self,
              "Asset {} ({}) has transactions older than its prices, "
              "extending its history",
              r.asset, r.symbol);
    }
  }
  if (!to_track.empty()) {
    if (to_track.size() == 1)
      self->send(self->state.tracker, atom::track_v, to_track.front());
    else
      self->send(self->state.tracker, atom::track_v, std::move(to_track));
  }
  if (new_work)
    try_claim(self);
}

void flush_sightings(self_pointer self) {
  auto& st = self->state;
  if (st.enqueue_in_flight || st.sightings.empty() || st.draining)
    return;
  std::vector<asset_id> batch{st.sightings.begin(), st.sightings.end()};
  st.sightings.clear();
  st.enqueue_in_flight = true;
  self->request(st.store, st.settings.store_timeout, atom::enqueue_v, batch)
    .then(
      [=](const std::vector<enqueue_result>& results) {
        self->state.enqueue_in_flight = false;
        handle_results(self, results, false);
        flush_sightings(self);
      },
      [=](caf::error& err) {
        auto& st = self->state;
        st.enqueue_in_flight = false;
        BF_WARN(self, "Cannot queue {} sighted assets: {}; retrying",
                batch.size(), render(err));
        for (auto asset : batch)
          if (st.sightings.size() < st.settings.max_sightings)
            st.sightings.insert(asset);
      });
}

void on_sighting(self_pointer self, const asset_seen& seen) {
  auto& st = self->state;
  if (st.draining)
    return; // The next start's catch-up finds it in the table.
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

void catch_up(self_pointer self) {
  auto& st = self->state;
  if (st.draining)
    return;
  if (st.catch_up_in_flight) {
    st.catch_up_again = true;
    return;
  }
  st.catch_up_in_flight = true;
  st.sightings_overflowed = false;
  st.next_catch_up = self->clock().now() + st.settings.catch_up_interval;
  self->request(st.store, st.settings.store_timeout, atom::catch_up_v)
    .then(
      [=](const std::vector<enqueue_result>& results) {
        auto& st = self->state;
        st.catch_up_in_flight = false;
        handle_results(self, results, true);
        if (std::exchange(st.catch_up_again, false))
          catch_up(self);
      },
      [=](caf::error& err) {
        auto& st = self->state;
        st.catch_up_in_flight = false;
        BF_WARN(self, "Catch-up scan failed: {}; retrying", render(err));
        // Try again at the next tick rather than waiting a whole interval.
        st.next_catch_up = self->clock().now();
      });
}

// -- handing out jobs ---------------------------------------------------------

void hand_out(self_pointer self, uint64_t pull_id,
              std::vector<backfill_job> jobs) {
  auto& st = self->state;
  auto i = std::find_if(st.parked.begin(), st.parked.end(),
                        [&](const auto& p) { return p.id == pull_id; });
  if (i == st.parked.end() || st.draining) {
    // The fetcher died (or we drain) while the claim was out: hand back.
    std::vector<job_id> ids;
    for (const auto& job : jobs)
      ids.push_back(job.id);
    st.outbox.emplace_back(job_release{std::move(ids), true});
    flush_outbox(self);
    return;
  }
  auto& mine = st.held[i->fetcher];
  for (const auto& job : jobs) {
    mine.insert(job.id);
    BF_DEBUG(self, "Handing job {} ({} of {}, attempt {}) to a fetcher", job.id,
             to_string(job.kind), job.symbol, job.attempts);
  }
  update_gauge(self);
  i->promise.deliver(std::move(jobs));
  st.parked.erase(i);
}

/// Claims jobs for the oldest waiting pull. An empty claim leaves the pull
/// parked until new work is queued or the next poll.
void try_claim(self_pointer self) {
  auto& st = self->state;
  if (st.claim_in_flight || st.parked.empty() || st.draining)
    return;
  auto pull = st.parked.front().id;
  auto capacity = st.parked.front().capacity;
  st.claim_in_flight = true;
  self->request(st.store, st.settings.store_timeout, atom::claim_v, capacity)
    .then(
      [=](std::vector<backfill_job>& jobs) {
        self->state.claim_in_flight = false;
        if (jobs.empty())
          return;
        hand_out(self, pull, std::move(jobs));
        try_claim(self);
      },
      [=](caf::error& err) {
        self->state.claim_in_flight = false;
        BF_WARN(self, "Cannot claim jobs: {}; retrying", render(err));
      });
}

caf::result<std::vector<backfill_job>>
on_pull(self_pointer self, uint32_t capacity, const std::vector<job_id>& held) {
  if (failpoint("dedupe.crash"))
    throw std::runtime_error("failpoint dedupe.crash");
  auto& st = self->state;
  // Draining: whatever the fetcher holds was handed back already.
  if (st.draining)
    return std::vector<backfill_job>{};
  auto fetcher = sender_of(self);
  if (st.held.count(fetcher) == 0)
    self->monitor(fetcher);
  // What the fetcher says it holds is the truth, also after our restart.
  st.held[fetcher] = std::set<job_id>{held.begin(), held.end()};
  update_gauge(self);
  if (capacity == 0)
    return std::vector<backfill_job>{};
  auto promise = self->make_response_promise<std::vector<backfill_job>>();
  st.parked.push_back(
    parked_pull{st.next_pull_id++, fetcher, capacity, promise});
  try_claim(self);
  return promise;
}

// -- outcomes -----------------------------------------------------------------

void log_verdict(self_pointer self, const backfill_job& job,
                 const job_verdict& verdict) {
  if (!verdict.give_up) {
    metrics().jobs_retried++;
    BF_INFO(self, "Fetching {} (asset {}) failed: {}; retrying in {} s",
            job.symbol, job.asset, verdict.reason,
            (verdict.delay_ms + 999) / 1000);
    return;
  }
  metrics().jobs_failed++;
  if (!has_market_price(job.asset_type))
    BF_INFO(self, "{} (asset {}) has no market price; nothing to fetch",
            job.symbol, job.asset);
  else if (verdict.permanent)
    BF_WARN(self,
            "Backfill of {} (asset {}) failed: {}; run `backfilld retry {}` "
            "to try again",
            job.symbol, job.asset, verdict.reason, job.symbol);
  else
    BF_WARN(self,
            "Backfill of {} (asset {}) failed: {}; a later catch-up tries "
            "again, or run `backfilld retry {}` now",
            job.symbol, job.asset, verdict.reason, job.symbol);
}

void maybe_finish_drain(self_pointer self) {
  auto& st = self->state;
  if (st.draining && st.drain_promise && st.outbox.empty() &&
      !st.outbox_in_flight && !st.claim_in_flight) {
    st.drain_promise->deliver(st.released_on_drain);
    st.drain_promise.reset();
  }
}

/// Sends the oldest outcome to the store; on success, the next one.
void flush_outbox(self_pointer self) {
  auto& st = self->state;
  if (st.outbox_in_flight || st.outbox.empty()) {
    maybe_finish_drain(self);
    return;
  }
  st.outbox_in_flight = true;
  auto next = [=] {
    auto& st = self->state;
    st.outbox_in_flight = false;
    st.outbox_refusals = 0;
    st.outbox.pop_front();
    flush_outbox(self);
  };
  auto on_error = [=](caf::error& err) {
    auto& st = self->state;
    st.outbox_in_flight = false;
    // While the database is away, outcomes wait (the tick retries). An
    // outcome it refuses outright must not block those behind it: after a
    // few refusals it is dropped, and its job's lease runs out instead.
    if (!is(err, ec::database_unavailable) && ++st.outbox_refusals >= 3) {
      BF_ERROR(self, "Dropping a job outcome the database refuses: {}",
               render(err));
      next();
      return;
    }
    BF_WARN(self, "Cannot record a job outcome: {}; retrying", render(err));
  };
  auto timeout = st.settings.store_timeout;
  const auto& item = st.outbox.front();
  if (auto done = std::get_if<done_outcome>(&item)) {
    auto job = done->job;
    self->request(st.store, timeout, atom::done_v, job)
      .then(
        [=](bool ours) {
          if (!ours)
            BF_WARN(self,
                    "Job {} was done, but its lease had passed to "
                    "another worker",
                    job);
          next();
        },
        on_error);
  } else if (auto verdict = std::get_if<job_verdict>(&item)) {
    auto job = verdict->job;
    self->request(st.store, timeout, atom::failed_v, *verdict)
      .then(
        [=](bool ours) {
          if (!ours)
            BF_WARN(self,
                    "Job {} failed, but its lease had passed to "
                    "another worker",
                    job);
          next();
        },
        on_error);
  } else {
    auto release = std::get<job_release>(item);
    self->request(st.store, timeout, atom::release_v, release)
      .then(
        [=](int32_t released) {
          self->state.released_on_drain += released;
          if (released > 0)
            BF_INFO(self, "Released {} jobs back to the queue", released);
          next();
        },
        on_error);
  }
}

void on_done(self_pointer self, const backfill_job& job) {
  forget(self, sender_of(self), job.id);
  metrics().jobs_done++;
  self->state.outbox.emplace_back(done_outcome{job.id});
  flush_outbox(self);
  try_claim(self);
}

void on_failed(self_pointer self, const backfill_job& job,
               const job_failure& failure) {
  auto& st = self->state;
  forget(self, sender_of(self), job.id);
  auto verdict = decide(job, failure, st.settings.retry, st.rng);
  log_verdict(self, job, verdict);
  st.outbox.emplace_back(std::move(verdict));
  flush_outbox(self);
}

void on_release(self_pointer self, const std::vector<job_id>& jobs) {
  auto fetcher = sender_of(self);
  for (auto job : jobs)
    forget(self, fetcher, job);
  self->state.outbox.emplace_back(job_release{jobs, true});
  flush_outbox(self);
}

/// A fetcher died: whatever it held goes back to the table at once instead
/// of waiting for its lease to run out.
void on_fetcher_down(self_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto i = st.held.find(dm.source);
  if (i == st.held.end())
    return;
  std::vector<job_id> jobs{i->second.begin(), i->second.end()};
  st.held.erase(i);
  update_gauge(self);
  st.parked.erase(
    std::remove_if(st.parked.begin(), st.parked.end(),
                   [&](const auto& p) { return p.fetcher == dm.source; }),
    st.parked.end());
  if (!jobs.empty()) {
    BF_WARN(self, "A fetcher stopped holding {} jobs; releasing them",
            jobs.size());
    // The attempt counts: a job that kills its fetcher every time must run
    // out of attempts, not loop.
    st.outbox.emplace_back(job_release{std::move(jobs), false});
    flush_outbox(self);
  }
}

// -- timers -------------------------------------------------------------------

void heartbeat(self_pointer self) {
  auto& st = self->state;
  st.next_heartbeat = self->clock().now() + st.settings.heartbeat_interval;
  auto jobs = all_held(self);
  if (st.heartbeat_in_flight || jobs.empty())
    return;
  st.heartbeat_in_flight = true;
  self->request(st.store, st.settings.store_timeout, atom::heartbeat_v, jobs)
    .then(
      [=](int32_t extended) {
        self->state.heartbeat_in_flight = false;
        if (static_cast<size_t>(extended) < jobs.size())
          BF_WARN(self, "{} of {} leases were no longer ours",
                  jobs.size() - static_cast<size_t>(extended), jobs.size());
      },
      [=](caf::error& err) {
        self->state.heartbeat_in_flight = false;
        BF_WARN(self, "Cannot extend leases: {}", render(err));
      });
}

/// The one periodic timer: retries what failed, polls for due jobs, and
/// starts catch-up scans and heartbeats when they are due.
void on_tick(self_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, st.settings.poll_interval, atom::tick_v);
  flush_sightings(self);
  flush_outbox(self);
  try_claim(self);
  auto now = self->clock().now();
  if (now >= st.next_catch_up || st.sightings_overflowed)
    catch_up(self);
  if (now >= st.next_heartbeat)
    heartbeat(self);
}

caf::result<int32_t> on_drain(self_pointer self) {
  auto& st = self->state;
  st.draining = true;
  for (auto& pull : st.parked)
    pull.promise.deliver(std::vector<backfill_job>{});
  st.parked.clear();
  auto jobs = all_held(self);
  st.held.clear();
  update_gauge(self);
  if (!jobs.empty())
    st.outbox.emplace_back(job_release{std::move(jobs), true});
  auto promise = self->make_response_promise<int32_t>();
  st.drain_promise = promise;
  flush_outbox(self);
  return promise;
}

} // namespace

dedupe_actor::behavior_type
dedupe(dedupe_actor::stateful_pointer<dedupe_state> self, job_store_actor store,
       tracker_actor tracker, dedupe_settings settings) {
  auto& st = self->state;
  st.store = std::move(store);
  st.tracker = std::move(tracker);
  st.settings = std::move(settings);
  st.rng.seed(st.settings.seed);
  // Catch up at once: sightings sent to a predecessor may be lost.
  st.next_catch_up = self->clock().now();
  st.next_heartbeat = self->clock().now() + st.settings.heartbeat_interval;
  end_on_exception(self);
  self->set_down_handler([=](caf::down_msg& dm) { on_fetcher_down(self, dm); });
  self->send(self, atom::tick_v);
  return {
    [=](const asset_seen& seen) { on_sighting(self, seen); },
    [=](atom::catch_up) { catch_up(self); },
    [=](atom::pull, uint32_t capacity, const std::vector<job_id>& held) {
      return on_pull(self, capacity, held);
    },
    [=](atom::done, const backfill_job& job, const write_summary&) {
      on_done(self, job);
    },
    [=](atom::failed, const backfill_job& job, const job_failure& failure) {
      on_failed(self, job, failure);
    },
    [=](atom::release, const std::vector<job_id>& jobs) {
      on_release(self, jobs);
    },
    [=](atom::drain) { return on_drain(self); },
    [=](atom::tick) { on_tick(self); },
    [=](atom::heartbeat) { heartbeat(self); },
    [=](tracker_actor tracker) { self->state.tracker = std::move(tracker); },
  };
}

dedupe_actor spawn_dedupe(caf::actor_system& sys, db_settings db,
                          queue_settings lease, db_watchdog_actor watchdog,
                          tracker_actor tracker, dedupe_settings settings) {
  auto store =
    spawn_job_store(sys, std::move(db), std::move(lease), std::move(watchdog));
  auto logic =
    sys.spawn(dedupe, store, std::move(tracker), std::move(settings));
  bind_lifetimes(logic, store);
  return logic;
}

} // namespace backfilld
