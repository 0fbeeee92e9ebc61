#include "actors/job_queue.hpp"

#include <stdexcept>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/job_store.hpp"
#include "actors/lifetime.hpp"
#include "actors/retry_log.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "provider/symbols.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/failpoints.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = job_queue_actor::stateful_pointer<job_queue_state>;

void flush_outbox(self_pointer self);
void flush_done(self_pointer self);

/// Publishes how many claimed jobs are in the fetchers' hands.
void update_gauge(self_pointer self) {
  auto held = self->state.pulls.held_count();
  metrics().jobs_in_memory_set(static_cast<int64_t>(held));
}

caf::actor_addr sender_of(self_pointer self) {
  return caf::actor_cast<caf::actor_addr>(self->current_sender());
}

void send_to_table(self_pointer self, outcome x) {
  self->state.outbox.push(std::move(x));
  flush_outbox(self);
}

void return_memory(self_pointer self) {
  if (self->state.settings.return_memory) {
    self->state.settings.return_memory();
    return;
  }
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

/// The queue ran dry: whatever the burst allocated (series, batches,
/// messages) is free again, but glibc keeps freed pages in its arenas. A
/// daemon that idles for months should give them back.
void burst_over(self_pointer self) {
  auto& st = self->state;
  if (st.trimmed || st.pulls.held_count() > 0)
    return;
  st.trimmed = true;
  st.settle_at = self->clock().now() + st.settings.settle_after;
  return_memory(self);
  BF_DEBUG(self, "Nothing due: returned freed memory to the system");
}

/// Still dry once the burst's request time-outs are gone from CAF's clock:
/// what they held is free now, and goes back too.
void settled(self_pointer self) {
  auto& st = self->state;
  if (!st.settle_at || self->clock().now() < *st.settle_at)
    return;
  st.settle_at.reset();
  if (!st.trimmed || st.pulls.held_count() > 0)
    return;
  return_memory(self);
  BF_DEBUG(self, "Still nothing due: returned the burst's last freed memory");
}

// -- handing out jobs ---------------------------------------------------------

void hand_out(self_pointer self, uint64_t pull_id,
              std::vector<backfill_job> jobs) {
  auto& st = self->state;
  auto pull = st.pulls.take(pull_id);
  if (!pull || st.draining) {
    // The fetcher died (or we drain) while the claim was out: hand back.
    std::vector<job_id> ids;
    for (const auto& job : jobs)
      ids.push_back(job.id);
    send_to_table(self, job_release{std::move(ids), true});
    return;
  }
  st.pulls.hand_over(*pull, jobs);
  for (const auto& job : jobs)
    BF_DEBUG(self, "Handing job {} ({} of {}, attempt {}) to a fetcher", job.id,
             to_string(job.kind), job.symbol, job.attempts);
  update_gauge(self);
  pull->reply.deliver(std::move(jobs));
}

/// Claims jobs for the oldest waiting pull. An empty claim leaves the pull
/// parked until new work is queued or the next poll.
void try_claim(self_pointer self) {
  auto& st = self->state;
  auto oldest = st.pulls.oldest();
  if (st.claim_in_flight || oldest == nullptr || st.draining)
    return;
  auto pull = oldest->id;
  st.claim_in_flight = true;
  self
    ->request(st.store, st.settings.store_timeout, atom::claim_v,
              oldest->capacity)
    .then(
      [=](std::vector<backfill_job>& jobs) {
        self->state.claim_in_flight = false;
        log_recovered(self, "Cannot claim jobs");
        if (jobs.empty()) {
          burst_over(self);
          return;
        }
        self->state.trimmed = false;
        hand_out(self, pull, std::move(jobs));
        try_claim(self);
      },
      [=](caf::error& err) {
        self->state.claim_in_flight = false;
        log_retry(self, "Cannot claim jobs", err);
      });
}

caf::result<std::vector<backfill_job>>
on_pull(self_pointer self, uint32_t capacity, const std::vector<job_id>& held) {
  if (failpoint("job-queue.crash"))
    throw std::runtime_error("failpoint job-queue.crash");
  auto& st = self->state;
  // Draining: whatever the fetcher holds was handed back already.
  if (st.draining)
    return std::vector<backfill_job>{};
  auto fetcher = sender_of(self);
  if (!st.pulls.knows(fetcher))
    self->monitor(fetcher);
  st.pulls.holds_exactly(fetcher, held);
  update_gauge(self);
  if (capacity == 0)
    return std::vector<backfill_job>{};
  auto promise = self->make_response_promise<std::vector<backfill_job>>();
  st.pulls.park(fetcher, capacity, promise);
  try_claim(self);
  return promise;
}

/// A fetcher died: whatever it held goes back to the table at once instead
/// of waiting for its lease to run out.
void on_fetcher_down(self_pointer self, const caf::down_msg& dm) {
  auto jobs = self->state.pulls.drop_holder(dm.source);
  update_gauge(self);
  if (jobs.empty())
    return;
  // Stopped on purpose (a shutdown whose grace ran out: the supervisor's
  // exit may reach us before its drain does), the attempt never failed.
  // Otherwise it counts: a job that kills its fetcher every time must run
  // out of attempts, not loop.
  auto stopped = dm.reason == caf::exit_reason::user_shutdown;
  if (stopped)
    BF_INFO(self, "A fetcher was stopped holding {} jobs; releasing them",
            jobs.size());
  else
    BF_WARN(self, "A fetcher stopped holding {} jobs; releasing them",
            jobs.size());
  send_to_table(self, job_release{std::move(jobs), stopped});
}

// -- outcomes -----------------------------------------------------------------

/// A routine refresh that gave up: catch-up never revives refreshes, the
/// scheduler's next run does; a symbol that keeps answering "no data" is
/// marked inactive after refresh.delisted-after days (its own warning), so
/// each run's failure is only information.
void refresh_failed(self_pointer self, const backfill_job& job,
                    const job_verdict& verdict) {
  BF_INFO(self,
          "Refresh of {} (asset {}) failed: {}; the next scheduled refresh "
          "tries again",
          job.symbol, job.asset, verdict.reason);
}

void log_verdict(self_pointer self, const backfill_job& job,
                 const job_verdict& verdict) {
  switch (verdict.action) {
  case verdict_action::retry:
    metrics().jobs_retried.add(job.kind);
    BF_INFO(self, "Fetching {} (asset {}) failed: {}; retrying in {} s",
            job.symbol, job.asset, verdict.reason,
            (verdict.delay_ms + 999) / 1000);
    return;
  case verdict_action::give_up_permanent:
    metrics().jobs_failed.add(job.kind);
    if (!has_market_price(job.asset_type))
      BF_INFO(self, "{} (asset {}) has no market price; nothing to fetch",
              job.symbol, job.asset);
    else if (job.kind == job_kind::refresh)
      refresh_failed(self, job, verdict);
    else
      BF_WARN(self,
              "Backfill of {} (asset {}) failed: {}; run `backfilld retry "
              "{}` to try again",
              job.symbol, job.asset, verdict.reason, job.symbol);
    return;
  case verdict_action::give_up:
    metrics().jobs_failed.add(job.kind);
    if (job.kind == job_kind::refresh) {
      refresh_failed(self, job, verdict);
      return;
    }
    BF_WARN(self,
            "Backfill of {} (asset {}) failed: {}; a later catch-up tries "
            "again, or run `backfilld retry {}` now",
            job.symbol, job.asset, verdict.reason, job.symbol);
    return;
  }
}

void maybe_finish_drain(self_pointer self) {
  auto& st = self->state;
  if (st.draining && st.drain_promise && st.outbox.empty() &&
      st.done_waiting.empty() && st.done_in_flight.empty() &&
      !st.claim_in_flight) {
    st.drain_promise->deliver(st.released_on_drain);
    st.drain_promise.reset();
  }
}

void outcome_recorded(self_pointer self) {
  log_recovered(self, "Cannot record a job outcome");
  self->state.outbox.sent();
  flush_outbox(self);
}

void outcome_not_recorded(self_pointer self, const caf::error& err) {
  // While the database is away, outcomes wait (the tick retries). One it
  // refuses outright must not block those behind it.
  auto away = is(err, ec::database_unavailable);
  if (self->state.outbox.failed(away) == outbox::retry_or_drop::dropped) {
    BF_ERROR(self, "Dropping a job outcome the database refuses: {}",
             render(err));
    flush_outbox(self);
    return;
  }
  log_retry(self, "Cannot record a job outcome", err);
}

/// Sends the oldest outcome to the store; on success, the next one.
void flush_outbox(self_pointer self) {
  auto& st = self->state;
  auto next = st.outbox.send_next();
  if (next == nullptr) {
    maybe_finish_drain(self);
    return;
  }
  auto timeout = st.settings.store_timeout;
  auto on_error = [=](caf::error& err) {
    outcome_not_recorded(self, err);
  };
  if (auto release = std::get_if<job_release>(next)) {
    self->request(st.store, timeout, atom::release_v, *release)
      .then(
        [=](int32_t released) {
          self->state.released_on_drain += released;
          if (released > 0)
            BF_INFO(self, "Released {} jobs back to the queue", released);
          outcome_recorded(self);
        },
        on_error);
    return;
  }
  // Done marks go in batches of their own (`flush_done`), not through here.
  if (auto done = std::get_if<done_outcome>(next)) {
    self->state.done_waiting.push_back(done->job);
    outcome_recorded(self);
    flush_done(self);
    return;
  }
  // A failed outcome says whether the job was still ours.
  auto job = std::get<job_verdict>(*next).job;
  self->request(st.store, timeout, atom::failed_v, std::get<job_verdict>(*next))
    .then(
      [=](bool ours) {
        if (!ours)
          BF_WARN(self,
                  "Job {} failed, but its lease had passed to another worker",
                  job);
        outcome_recorded(self);
      },
      on_error);
}

void done_recorded(self_pointer self, const std::vector<job_id>& lost) {
  auto& st = self->state;
  for (auto job : lost)
    BF_WARN(self, "Job {} was done, but its lease had passed to another worker",
            job);
  log_recovered(self, "Cannot record a job outcome");
  st.done_in_flight.clear();
  st.done_refusals = 0;
  flush_done(self);
  maybe_finish_drain(self);
}

void done_not_recorded(self_pointer self, const caf::error& err) {
  // As for the outbox: while the database is away the marks wait (the tick
  // retries); marks it refuses outright must not block those behind them.
  auto& st = self->state;
  if (!is(err, ec::database_unavailable) &&
      ++st.done_refusals >= st.settings.max_outcome_refusals) {
    BF_ERROR(self,
             "Dropping {} done marks the database refuses (their leases run "
             "out instead): {}",
             st.done_in_flight.size(), render(err));
    st.done_in_flight.clear();
    st.done_refusals = 0;
    flush_done(self);
    maybe_finish_drain(self);
    return;
  }
  st.done_waiting.insert(st.done_waiting.begin(), st.done_in_flight.begin(),
                         st.done_in_flight.end());
  st.done_in_flight.clear();
  log_retry(self, "Cannot record a job outcome", err);
}

/// Marks every job waiting done in one round trip, unless marks are on their
/// way already (their answer sends the next).
void flush_done(self_pointer self) {
  auto& st = self->state;
  if (!st.done_in_flight.empty() || st.done_waiting.empty())
    return;
  st.done_in_flight.swap(st.done_waiting);
  self
    ->request(st.store, st.settings.store_timeout, atom::done_v,
              st.done_in_flight)
    .then([=](std::vector<job_id>& lost) { done_recorded(self, lost); },
          [=](caf::error& err) { done_not_recorded(self, err); });
}

void on_done(self_pointer self, const backfill_job& job) {
  self->state.pulls.forget(sender_of(self), job.id);
  update_gauge(self);
  metrics().jobs_done.add(job.kind);
  self->state.done_waiting.push_back(job.id);
  flush_done(self);
  try_claim(self);
}

void on_failed(self_pointer self, const backfill_job& job,
               const job_failure& failure) {
  auto& st = self->state;
  st.pulls.forget(sender_of(self), job.id);
  update_gauge(self);
  auto verdict = decide(job, failure, st.settings.retry, st.rng);
  log_verdict(self, job, verdict);
  send_to_table(self, std::move(verdict));
}

void on_release(self_pointer self, const std::vector<job_id>& jobs) {
  auto fetcher = sender_of(self);
  for (auto job : jobs)
    self->state.pulls.forget(fetcher, job);
  update_gauge(self);
  send_to_table(self, job_release{jobs, true});
}

// -- timers -------------------------------------------------------------------

void heartbeat(self_pointer self) {
  auto& st = self->state;
  // The store releases running jobs of ours that no fetcher holds: the jobs
  // of a claim still on its way would count as such. Wait for its answer
  // (the next tick tries again).
  if (st.heartbeat_in_flight || st.claim_in_flight)
    return;
  st.next_heartbeat = self->clock().now() + st.settings.heartbeat_interval;
  // Also while nothing is held: the store then releases claims of ours that
  // reached no fetcher (their answer was lost), which would otherwise wait
  // for their lease.
  auto jobs = st.pulls.all_held();
  // Jobs a fetcher finished whose outcome has not left for the store yet are
  // still running in the table: without them here, a store slower than
  // `orphan_after` would see them in nobody's hands, release them, and they
  // would be fetched a second time (seen under load with fetcher nodes).
  auto held = jobs.size();
  jobs.insert(jobs.end(), st.done_waiting.begin(), st.done_waiting.end());
  // Marks on their way usually land first (the store answers in order) but
  // may fail and come back: the lease is extended either way.
  jobs.insert(jobs.end(), st.done_in_flight.begin(), st.done_in_flight.end());
  auto verdicts = st.outbox.waiting_verdicts();
  jobs.insert(jobs.end(), verdicts.begin(), verdicts.end());
  st.heartbeat_in_flight = true;
  self->request(st.store, st.settings.store_timeout, atom::heartbeat_v, jobs)
    .then(
      [=](int32_t extended) {
        self->state.heartbeat_in_flight = false;
        log_recovered(self, "Cannot extend leases");
        // Only held jobs count: those with an outcome on its way may be
        // done or failed by now, which is no lost lease.
        if (static_cast<size_t>(extended) < held)
          BF_WARN(self, "{} of {} leases were no longer ours",
                  held - static_cast<size_t>(extended), held);
      },
      [=](caf::error& err) {
        self->state.heartbeat_in_flight = false;
        log_retry(self, "Cannot extend leases", err);
      });
}

/// The one periodic timer: retries outcomes, polls for due jobs, and extends
/// leases when due.
void on_tick(self_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, st.settings.poll_interval, atom::tick_v);
  flush_outbox(self);
  flush_done(self);
  // The heartbeat before the claim: it waits while a claim is out, and the
  // store runs the two in this order.
  if (self->clock().now() >= st.next_heartbeat)
    heartbeat(self);
  try_claim(self);
  settled(self);
}

caf::result<int32_t> on_drain(self_pointer self) {
  auto& st = self->state;
  st.draining = true;
  for (auto& pull : st.pulls.take_all())
    pull.reply.deliver(std::vector<backfill_job>{});
  auto jobs = st.pulls.release_all();
  update_gauge(self);
  if (!jobs.empty())
    st.outbox.push(job_release{std::move(jobs), true});
  auto promise = self->make_response_promise<int32_t>();
  st.drain_promise = promise;
  flush_outbox(self);
  return promise;
}

} // namespace

job_queue_actor::behavior_type
job_queue(job_queue_actor::stateful_pointer<job_queue_state> self,
          claim_store_actor store, job_queue_settings settings) {
  auto& st = self->state;
  st.store = std::move(store);
  st.settings = std::move(settings);
  st.outbox = outbox{st.settings.max_outcome_refusals};
  st.rng.seed(st.settings.seed);
  st.next_heartbeat = self->clock().now() + st.settings.heartbeat_interval;
  end_on_exception(self);
  self->set_down_handler([=](caf::down_msg& dm) { on_fetcher_down(self, dm); });
  self->send(self, atom::tick_v);
  return {
    [=](atom::pull, uint32_t capacity, const std::vector<job_id>& held) {
      return on_pull(self, capacity, held);
    },
    [=](atom::wake) { try_claim(self); },
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
  };
}

job_queue_actor spawn_job_queue(caf::actor_system& sys, db_settings db,
                                queue_settings lease,
                                db_watchdog_actor watchdog,
                                job_queue_settings settings) {
  auto store =
    spawn_job_store(sys, std::move(db), std::move(lease), std::move(watchdog));
  auto logic = sys.spawn(job_queue, claim_store_actor{store}, settings);
  bind_lifetimes(logic, store);
  return logic;
}

} // namespace backfilld
