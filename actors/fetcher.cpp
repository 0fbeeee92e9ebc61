#include "actors/fetcher.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/fetcher_worker.hpp"
#include "actors/lifetime.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "provider/wire.hpp"
#include "provider/yahoo_chart.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/failpoints.hpp"
#include "telemetry/log.hpp"
#include "telemetry/provider_health.hpp"
#include "telemetry/redact.hpp"

namespace backfilld {

namespace {

using self_pointer = fetcher_actor::stateful_pointer<fetcher_state>;

void pull_more(self_pointer self);
void dispatch(self_pointer self);

void retry_later(self_pointer self) {
  self->state.retry.schedule(self, self->state.settings.retry_delay);
}

/// Unix seconds by the actor's clock.
int64_t unix_now(self_pointer self) {
  auto& st = self->state;
  auto elapsed = self->clock().now() - st.started;
  return st.started_unix +
         std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
}

/// Unix seconds of an actor-clock time point (rounded up: "until" times).
int64_t unix_at(self_pointer self, caf::actor_clock::time_point t) {
  auto left = t - self->clock().now();
  return unix_now(self) + std::chrono::ceil<std::chrono::seconds>(left).count();
}

// -- finishing a job ----------------------------------------------------------

/// Answers a pending drain once nothing is in flight any more.
void maybe_finish_drain(self_pointer self) {
  auto& st = self->state;
  if (st.draining && st.active == 0 && st.drain_promise) {
    st.drain_promise->deliver(st.finished_while_draining);
    st.drain_promise.reset();
  }
}

void after_finish(self_pointer self) {
  auto& st = self->state;
  if (!st.draining) {
    pull_more(self);
    return;
  }
  ++st.finished_while_draining;
  maybe_finish_drain(self);
}

/// Reports a job's outcome to the queue (`done` with a write summary, or
/// `failed` with a job failure) and lets the job go. `job` may be the very
/// entry of `held` that this erases: it is reported first.
template <class Atom, class Outcome>
void finish(self_pointer self, const backfill_job& job, Atom what,
            Outcome outcome) {
  auto& st = self->state;
  --st.active;
  self->send(st.queue, what, job, std::move(outcome));
  st.walks.erase(job.id);
  st.held.erase(job.id);
  after_finish(self);
}

void fail(self_pointer self, const backfill_job& job, failure_kind kind,
          std::string reason) {
  finish(self, job, atom::failed_v, job_failure{kind, std::move(reason), 0});
}

// -- the steps of one job -----------------------------------------------------

/// An extension's answer disagreed with the stored history (nothing was
/// written): the job goes round once more as a rewrite, which fetches
/// `want_from` to today and stores it whole. Only once per claim: a rewrite
/// is never checked again, so it cannot ask for another.
void rewrite_history(self_pointer self, const backfill_job& job,
                     std::string disagreement) {
  auto& st = self->state;
  auto i = st.held.find(job.id);
  if (job.rewrites_history() || i == st.held.end()) {
    fail(self, job, failure_kind::transient,
         "the provider's answer disagrees with the stored history again (" +
           disagreement + ")");
    return;
  }
  --st.active;
  st.walks.erase(job.id);
  if (st.draining) {
    // Nothing was stored: whoever claims it next starts over.
    st.held.erase(i);
    self->send(st.queue, atom::release_v, std::vector<job_id>{job.id});
    maybe_finish_drain(self);
    return;
  }
  // The writer logs the rewrite once it is stored.
  BF_DEBUG(self, "Refetching the whole history of {}: {}", job.symbol,
           disagreement);
  i->second.rewrite_reason = std::move(disagreement);
  st.ready.push_front(job.id);
  dispatch(self);
}

/// Stores a series. A fallback's answer for an asset with prices is stored
/// like a refresh, whatever the job's kind: the writer then refuses it when
/// it disagrees with what is stored (another provider's basis), and the job
/// fails with that reason instead of splicing two bases into one history.
void write_series(self_pointer self, const backfill_job& job,
                  price_series series, bool fallback) {
  auto& st = self->state;
  auto stored_as = job;
  if (fallback) {
    stored_as.rewrite_reason.clear();
    if (stored_as.kind == job_kind::backfill)
      stored_as.kind = job_kind::refresh;
  }
  auto source = series.source;
  const auto& walk = st.walks.at(job.id);
  auto shortfall = walk.shortfall;
  // Someone else may serve the rest later (one failed transiently).
  auto rest_kind =
    walk.any_transient ? failure_kind::transient : failure_kind::permanent;
  self
    ->request(st.writer, st.settings.store_timeout, atom::write_v, stored_as,
              std::move(series))
    .then(
      [=](const write_summary& summary) {
        if (!shortfall.empty() && !summary.basis_changed() &&
            job.kind == job_kind::extend) {
          // What the provider has is stored; the rest of the extension it
          // can never serve: the job says so rather than "done".
          fail(self, job, rest_kind,
               "stored " + std::to_string(summary.bars) + " days from " +
                 source + ", not the whole window: " + shortfall);
          return;
        }
        if (!shortfall.empty() && !summary.basis_changed())
          BF_INFO(self, "{} from {}: {}", job.symbol, source, shortfall);
        if (summary.basis_changed() && fallback)
          fail(self, job, failure_kind::transient,
               source + "'s answer disagrees with the stored history (" +
                 summary.disagreement + "): not stored");
        else if (summary.basis_changed())
          rewrite_history(self, job, summary.disagreement);
        else
          finish(self, job, atom::done_v, summary);
      },
      [=](caf::error& err) {
        fail(self, job, failure_kind::transient,
             "storing prices failed: " + render(err));
      });
}

/// The actor clock's time, for the breakers (tests control it).
caf::actor_clock::time_point clock_now(self_pointer self) {
  return self->clock().now();
}

void try_next(self_pointer self, job_id id, fetcher_worker_actor worker);

/// Whether `name` has a free slot under its `concurrency`.
bool has_slot(const fetcher_state& st, const std::string& name) {
  auto i = st.settings.provider_concurrency.find(name);
  if (i == st.settings.provider_concurrency.end())
    return true;
  auto j = st.busy.find(name);
  return j == st.busy.end() || j->second < i->second;
}

/// A request to `name` is over (answered or failed): its slot may go to a
/// parked job.
void free_slot(self_pointer self, const std::string& name) {
  if (auto i = self->state.busy.find(name);
      i != self->state.busy.end() && i->second > 0)
    --i->second;
  dispatch(self);
}

/// Gives the worker back and lets the next ready job have it.
void release_worker(self_pointer self, fetcher_worker_actor worker) {
  self->state.idle_workers.push_back(std::move(worker));
  dispatch(self);
}

/// Notes why the current provider did not serve the job, then asks the next.
void fall_through(self_pointer self, job_id id, fetcher_worker_actor worker,
                  const job_failure& failure) {
  auto& walk = self->state.walks.at(id);
  walk.reasons.push_back(walk.current() + ": " + failure.reason);
  switch (failure.kind) {
  case failure_kind::transient:
    walk.any_transient = true;
    break;
  case failure_kind::throttled:
    walk.any_throttled = true;
    walk.retry_after_ms = std::max(walk.retry_after_ms, failure.retry_after_ms);
    break;
  case failure_kind::permanent:
    walk.any_permanent = true;
    break;
  }
  try_next(self, id, std::move(worker));
}

/// Nobody served the job: it fails with every provider's reason (a single
/// provider's as it gave it, the way it reads with Yahoo alone).
void exhausted(self_pointer self, job_id id, fetcher_worker_actor worker) {
  auto& st = self->state;
  auto& walk = st.walks.at(id);
  job_failure failure;
  // A provider skipped for its open breaker is waited for like a paused one
  // (no attempt counted): counting attempts would fail the job within
  // seconds while the breaker is still open. Unless another provider refused
  // the job for good: then it is retried as before, attempts counted, so
  // that it fails visibly if the skipped provider never comes back.
  auto waits = walk.any_throttled || walk.any_breaker_skip;
  failure.kind =
    walk.any_transient || (walk.any_breaker_skip && walk.any_permanent)
      ? failure_kind::transient
    : waits ? failure_kind::throttled
            : failure_kind::permanent;
  if (failure.kind == failure_kind::throttled)
    failure.retry_after_ms = walk.retry_after_ms;
  if (walk.names.size() == 1 && walk.reasons.size() == 1) {
    auto& reason = walk.reasons.front();
    failure.reason = reason.substr(walk.names.front().size() + 2);
  } else {
    for (const auto& reason : walk.reasons)
      failure.reason += (failure.reason.empty() ? "" : "; ") + reason;
  }
  release_worker(self, std::move(worker));
  finish(self, st.held.at(id), atom::failed_v, std::move(failure));
}

/// Records what an answer says about its provider's health.
void note_health(self_pointer self, const std::string& name, bool healthy) {
  auto& breaker = self->state.breakers.at(name);
  auto before = breaker.current();
  provider_states().record(name, unix_now(self), !healthy);
  // A good answer also tells the limiter that the provider takes our pace
  // (after a 429, its rate grows back).
  if (healthy) {
    self->send(self->state.limiter, atom::done_v, name);
    breaker.succeeded();
  } else
    breaker.failed(clock_now(self));
  auto after = breaker.current();
  if (before == after)
    return;
  provider_states().set_breaker(name, to_string(after),
                                unix_at(self, breaker.open_until()));
  if (after == circuit_breaker::state::open)
    BF_WARN(self, "Provider {} is failing: skipped for {} ms, then probed",
            name, self->state.settings.breaker.cool_down.count());
  else if (after == circuit_breaker::state::closed)
    BF_INFO(self, "Provider {} is back", name);
}

/// Puts an active job that waits for its provider (for a slot or a grant)
/// back at the front of the line, to start its chain afresh; its worker,
/// if it has one, goes back to the pool. While draining, it goes back to
/// the table instead (ready jobs are not started any more).
void requeue(self_pointer self, job_id id) {
  auto& st = self->state;
  std::string provider;
  if (auto w = st.walks.find(id); w != st.walks.end()) {
    // A parked job has not started at its provider yet (`next` points at
    // it): only a job waiting for a grant holds a slot and a worker.
    if (w->second.next > 0 && st.granting.count(id) > 0)
      provider = w->second.current();
    st.walks.erase(w);
  }
  if (auto g = st.granting.find(id); g != st.granting.end()) {
    if (auto b = st.breakers.find(provider); b != st.breakers.end())
      b->second.abandoned();
    st.idle_workers.push_back(std::move(g->second.worker));
    st.granting.erase(g);
    if (auto b = st.busy.find(provider); b != st.busy.end() && b->second)
      --b->second;
  }
  --st.active;
  if (st.draining) {
    st.held.erase(id);
    self->send(st.queue, atom::release_v, std::vector<job_id>{id});
    return;
  }
  st.ready.push_front(id);
}

/// `name` answered 429: it gets nothing until the pause ends. Jobs parked
/// behind it or waiting for its grant start their chains again, so that
/// they fall through to a fallback or go back to the table until the pause
/// ends, instead of filling the window (the limiter drops their grants'
/// tokens on nobody: at most the provider's concurrency, after the pause).
void pause_provider(self_pointer self, const std::string& name,
                    std::chrono::milliseconds pause) {
  auto& st = self->state;
  auto until = self->clock().now() + pause;
  auto& paused = st.paused_until[name];
  paused = std::max(paused, until);
  provider_states().set_throttled(name, unix_at(self, paused));
  std::vector<job_id> waiting;
  if (auto i = st.parked.find(name); i != st.parked.end()) {
    waiting.assign(i->second.begin(), i->second.end());
    i->second.clear();
  }
  for (const auto& [id, wait] : st.granting)
    if (st.walks.at(id).current() == name)
      waiting.push_back(id);
  // Oldest first at the front of the line.
  for (auto i = waiting.rbegin(); i != waiting.rend(); ++i)
    requeue(self, *i);
  maybe_finish_drain(self);
  dispatch(self);
}

/// How long `name` stays paused after a 429; zero when it is not paused.
std::chrono::milliseconds paused_for(self_pointer self,
                                     const std::string& name) {
  auto& st = self->state;
  auto i = st.paused_until.find(name);
  if (i == st.paused_until.end())
    return std::chrono::milliseconds{0};
  auto now = self->clock().now();
  if (i->second <= now) {
    st.paused_until.erase(i);
    return std::chrono::milliseconds{0};
  }
  return std::chrono::ceil<std::chrono::milliseconds>(i->second - now);
}

/// Turns what the provider said into the job's next step.
void on_response(self_pointer self, const backfill_job& job,
                 fetcher_worker_actor worker, const http_response& response) {
  if (failpoint("fetcher.crash"))
    throw std::runtime_error("failpoint fetcher.crash");
  auto& st = self->state;
  auto& walk = st.walks.at(job.id);
  auto name = walk.current();
  auto fallback = walk.falling_back();
  auto outcome = classify(*st.providers.at(name), job, response, unix_now(self),
                          st.settings.classify);
  if (auto skipped = outcome.series.skipped_bars; skipped > 0) {
    metrics().bars_skipped += static_cast<uint64_t>(skipped);
    BF_INFO(self, "Skipped {} bars of {} with missing or invalid values",
            skipped, job.symbol);
  }
  switch (outcome.what) {
  case fetch_result::series: {
    note_health(self, name, true);
    const auto& served = outcome.series.currency;
    if (fallback && !job.currency.empty() && !served.empty() &&
        to_upper(served) != to_upper(job.currency)) {
      fall_through(self, job.id, std::move(worker),
                   job_failure{failure_kind::permanent,
                               "quotes " + served + ", but the asset is in " +
                                 job.currency + ": refused",
                               0});
      return;
    }
    if (fallback)
      BF_INFO(self, "{} served by {} (fallback)", job.symbol, name);
    release_worker(self, std::move(worker));
    write_series(self, job, std::move(outcome.series), fallback);
    return;
  }
  case fetch_result::pause:
    note_health(self, name, false);
    // Pauses this provider only: the others have their own buckets.
    self->send(st.limiter, atom::throttle_v, name,
               caf::timespan{outcome.pause});
    pause_provider(self, name, outcome.pause);
    fall_through(self, job.id, std::move(worker), outcome.failure);
    return;
  case fetch_result::settled:
    note_health(self, name, true);
    if (auto& shortfall = st.walks.at(job.id).shortfall; !shortfall.empty()) {
      // Nothing older within the provider's reach says nothing of what lies
      // beyond it.
      fall_through(self, job.id, std::move(worker),
                   job_failure{failure_kind::permanent, shortfall, 0});
      return;
    }
    if (!fallback) {
      BF_INFO(self, "{}", outcome.note);
      release_worker(self, std::move(worker));
      finish(self, job, atom::done_v, write_summary{});
      return;
    }
    fall_through(self, job.id, std::move(worker),
                 job_failure{failure_kind::permanent, outcome.note, 0});
    return;
  case fetch_result::failure:
    // A provider that knows nothing of the asset (or has no data for the
    // window) answered: it is up.
    note_health(self, name,
                outcome.code == ec::symbol_not_found ||
                  outcome.code == ec::no_data);
    if (outcome.failure.kind == failure_kind::transient)
      metrics().fetch_errors++;
    fall_through(self, job.id, std::move(worker), outcome.failure);
    return;
  }
}

void get_chart(self_pointer self, const backfill_job& job,
               fetcher_worker_actor worker, http_request request) {
  auto& st = self->state;
  metrics().fetches++;
  BF_DEBUG(self, "GET {}", mask_secrets(request.url));
  stopwatch took;
  self->request(worker, st.settings.http_timeout, atom::get_v, request)
    .then(
      [=](const http_response& response) {
        metrics().fetch_seconds.observe(took.elapsed());
        auto provider = self->state.walks.at(job.id).current();
        metrics().provider_response(provider, response.status);
        // The answer first: a 429 must pause the limiter before the next
        // job on this worker, or a parked one, asks it for a grant.
        on_response(self, job, worker, response);
        free_slot(self, provider);
      },
      [=](caf::error& err) {
        metrics().fetch_seconds.observe(took.elapsed());
        auto provider = self->state.walks.at(job.id).current();
        metrics().provider_response(provider, 0);
        metrics().fetch_errors++;
        note_health(self, provider, false);
        fall_through(self, job.id, worker,
                     job_failure{failure_kind::transient, render(err), 0});
        free_slot(self, provider);
      });
}

/// Asks the limiter for a grant for a job that has its worker. Answers from
/// a limiter that was replaced meanwhile are ignored (`limiter_epoch`).
void request_grant(self_pointer self, job_id id) {
  auto& st = self->state;
  auto epoch = st.limiter_epoch;
  auto ticket = st.granting.at(id).ticket;
  self
    ->request(st.limiter, st.settings.grant_timeout, atom::acquire_v,
              st.walks.at(id).current())
    .then(
      [=](atom::grant) {
        auto& st = self->state;
        auto i = st.granting.find(id);
        if (epoch != st.limiter_epoch || i == st.granting.end() ||
            i->second.ticket != ticket)
          return;
        auto wait = std::move(i->second);
        st.granting.erase(i);
        get_chart(self, st.held.at(id), std::move(wait.worker),
                  std::move(wait.request));
      },
      [=](caf::error& err) {
        auto& st = self->state;
        auto i = st.granting.find(id);
        if (epoch != st.limiter_epoch || i == st.granting.end() ||
            i->second.ticket != ticket)
          return;
        // Lost or timed out: the job goes back to the front of the line.
        BF_WARN(self, "No grant for job {}: {}; asking again", id, render(err));
        // Its slot is free; the job itself is retried later (the limiter
        // may be away).
        requeue(self, id);
        maybe_finish_drain(self);
        retry_later(self);
      });
}

/// Asks the next provider of the job's chain that can serve it, skipping
/// those that cannot name the asset and those whose breaker is open (but
/// the last); when none is left, the job fails.
void try_next(self_pointer self, job_id id, fetcher_worker_actor worker) {
  auto& st = self->state;
  const auto& job = st.held.at(id);
  auto& walk = st.walks.at(id);
  while (walk.next < walk.names.size()) {
    const auto& name = walk.names[walk.next++];
    provider_request request;
    if (auto f = st.providers.at(name)->request(job, walk.window,
                                                unix_now(self), request)) {
      auto detail = walk.names.size() == 1 ? f.detail : name + ": " + f.detail;
      BF_INFO(self, "Skipping {} (asset {}): {}", job.symbol, job.asset,
              detail);
      // No ticker is final; a window the provider cannot serve is not.
      auto kind = f.code == ec::no_data ? failure_kind::transient
                                        : failure_kind::permanent;
      walk.reasons.push_back(name + ": " + to_string(f.code) + ": " + f.detail);
      walk.any_transient |= kind == failure_kind::transient;
      walk.any_permanent |= kind == failure_kind::permanent;
      continue;
    }
    // A paused provider is skipped, even the last: with nobody left the job
    // goes back to the table until the pause ends (no attempt counted).
    if (auto pause = paused_for(self, name); pause.count() > 0) {
      walk.reasons.push_back(
        name + ": " + to_string(ec::rate_limited) + ": paused for another " +
        std::to_string((pause.count() + 999) / 1000) + " s after a 429");
      walk.any_throttled = true;
      walk.retry_after_ms =
        std::max<int64_t>(walk.retry_after_ms, pause.count());
      continue;
    }
    if (!has_slot(st, name)) {
      // Asked again once a slot is free (the same provider: `next` back).
      --walk.next;
      st.parked[name].push_back(id);
      release_worker(self, std::move(worker));
      return;
    }
    // The last provider of a chain is always asked: skipping it would only
    // fail the job sooner (with Yahoo alone, an outage is retried as it
    // always was).
    auto last = walk.next == walk.names.size();
    auto& breaker = st.breakers.at(name);
    if (!breaker.let_through(clock_now(self)) && !last) {
      walk.reasons.push_back(name + ": " + to_string(ec::provider_unavailable) +
                             ": failing, skipped until its breaker lets a "
                             "probe through");
      // Ask again once the probe is due (or, while another job's probe is
      // out, after the usual retry delay).
      auto probe_in = std::chrono::ceil<std::chrono::milliseconds>(
        breaker.open_until() - clock_now(self));
      walk.any_breaker_skip = true;
      walk.retry_after_ms = std::max<int64_t>(
        {walk.retry_after_ms, probe_in.count(),
         static_cast<int64_t>(st.settings.retry_delay.count())});
      continue;
    }
    walk.shortfall = std::move(request.shortfall);
    ++st.busy[name];
    st.granting[id] = grant_wait{
      std::move(worker),
      http_request{std::move(request.url), std::move(request.headers)},
      ++st.next_ticket};
    request_grant(self, id);
    return;
  }
  exhausted(self, id, std::move(worker));
}

/// Sets the job on its way along the chain of its asset type: the provider
/// is never called without a grant.
void start(self_pointer self, const backfill_job& job,
           fetcher_worker_actor worker) {
  auto& st = self->state;
  ++st.active;
  // A rewrite asks from the earliest day the asset has or wants up to today
  // (an extension's target, or the first stored day when a new split put
  // the stored history on the old basis): what `window_for` asks for an
  // extension of an asset without stored prices. A refresh's rewrite asks
  // from its first stored day already (`window_for`).
  auto asked = job;
  if (job.rewrites_history() && job.kind != job_kind::refresh) {
    for (auto day : {job.want_from, job.first_price})
      if (day != no_day && (asked.want_from == no_day || day < asked.want_from))
        asked.want_from = day;
    asked.kind = job_kind::extend;
    asked.first_price = no_day;
  }
  std::vector<std::string> chain;
  if (auto f = chain_with_source(st.settings.providers, job.asset_type,
                                 job.source, chain)) {
    metrics().unknown_sources++;
    release_worker(self, std::move(worker));
    fail(self, job, failure_kind::permanent, f.detail);
    return;
  }
  chain_walk walk;
  walk.window =
    window_for(asked, st.settings.range, unix_now(self), st.settings.overlap);
  std::string skipped;
  for (auto& name : chain) {
    if (auto i = st.unusable.find(name); i != st.unusable.end())
      skipped += "; " + name + ": " + i->second;
    else
      walk.names.push_back(std::move(name));
  }
  if (walk.names.empty()) {
    release_worker(self, std::move(worker));
    fail(self, job, failure_kind::transient,
         "no usable provider for " + job.asset_type + " assets (" +
           skipped.substr(2) + ")");
    return;
  }
  st.walks[job.id] = std::move(walk);
  try_next(self, job.id, std::move(worker));
}

/// Resumes parked jobs whose provider has a slot again, then starts ready
/// jobs, while workers are free. Parked jobs are in flight already: they go
/// first, and also while draining (the drain waits for them).
void dispatch(self_pointer self) {
  auto& st = self->state;
  for (auto& [name, ids] : st.parked) {
    while (!ids.empty() && !st.idle_workers.empty() && has_slot(st, name)) {
      auto id = ids.front();
      ids.pop_front();
      auto worker = st.idle_workers.back();
      st.idle_workers.pop_back();
      try_next(self, id, worker);
    }
  }
  while (!st.ready.empty() && !st.idle_workers.empty() && !st.draining) {
    auto id = st.ready.front();
    st.ready.pop_front();
    auto worker = st.idle_workers.back();
    st.idle_workers.pop_back();
    start(self, st.held.at(id), worker);
  }
}

// -- talking to the queue -----------------------------------------------------

std::vector<job_id> held_ids(self_pointer self) {
  std::vector<job_id> ids;
  for (const auto& [id, job] : self->state.held)
    ids.push_back(id);
  return ids;
}

/// Asks the queue for as many jobs as the window has room for. The answer
/// comes when jobs are due (a long poll).
void pull_more(self_pointer self) {
  auto& st = self->state;
  if (st.pull_in_flight || st.draining || st.held.size() >= st.settings.window)
    return;
  auto capacity = static_cast<uint32_t>(st.settings.window - st.held.size());
  auto epoch = st.queue_epoch;
  st.pull_in_flight = true;
  self->request(st.queue, caf::infinite, atom::pull_v, capacity, held_ids(self))
    .then(
      [=](std::vector<backfill_job>& jobs) {
        auto& st = self->state;
        if (epoch == st.queue_epoch)
          st.pull_in_flight = false;
        for (auto& job : jobs) {
          auto id = job.id;
          if (st.held.emplace(id, std::move(job)).second)
            st.ready.push_back(id);
        }
        if (st.draining && !jobs.empty()) {
          // Claimed while we started draining: hand them straight back.
          std::vector<job_id> ids{st.ready.begin(), st.ready.end()};
          for (auto id : ids)
            st.held.erase(id);
          st.ready.clear();
          self->send(st.queue, atom::release_v, std::move(ids));
          return;
        }
        dispatch(self);
        // An empty answer means the queue is draining: do not hammer it.
        if (jobs.empty())
          retry_later(self);
        else
          pull_more(self);
      },
      [=](caf::error& err) {
        auto& st = self->state;
        if (epoch != st.queue_epoch)
          return;
        st.pull_in_flight = false;
        BF_WARN(self, "Cannot pull jobs: {}; retrying", render(err));
        retry_later(self);
      });
}

caf::result<int32_t> on_drain(self_pointer self) {
  auto& st = self->state;
  st.draining = true;
  // Jobs not started yet go back to the table now, not at lease expiry.
  if (!st.ready.empty()) {
    std::vector<job_id> ids{st.ready.begin(), st.ready.end()};
    for (auto id : ids)
      st.held.erase(id);
    st.ready.clear();
    BF_INFO(self, "Handing back {} jobs not started yet", ids.size());
    self->send(st.queue, atom::release_v, std::move(ids));
  }
  if (st.active == 0)
    return st.finished_while_draining;
  BF_INFO(self, "Finishing {} jobs in flight", st.active);
  auto promise = self->make_response_promise<int32_t>();
  st.drain_promise = promise;
  return promise;
}

} // namespace

fetcher_actor::behavior_type
fetcher(fetcher_actor::stateful_pointer<fetcher_state> self,
        job_queue_actor queue, rate_limiter_actor limiter, writer_actor writer,
        std::vector<fetcher_worker_actor> workers, fetcher_settings settings) {
  auto& st = self->state;
  st.queue = std::move(queue);
  st.limiter = std::move(limiter);
  st.writer = std::move(writer);
  st.idle_workers = std::move(workers);
  end_on_exception(self);
  st.settings = std::move(settings);
  st.started = self->clock().now();
  st.settings.providers.yahoo_base_url = st.settings.base_url;
  for (const auto& name : provider_names()) {
    st.providers.emplace(name, make_provider(name, st.settings.providers));
    st.breakers.emplace(name, circuit_breaker{st.settings.breaker});
    if (auto why = st.providers.at(name)->unusable(); !why.empty()) {
      provider_states().set_off(name, why);
      st.unusable.emplace(name, std::move(why));
    } else {
      provider_states().set_breaker(name, "closed", 0);
    }
  }
  // Once per start: a chain naming a provider that is off.
  for (const auto& [type, chain] : st.settings.providers.chains)
    for (const auto& name : chain)
      if (auto i = st.unusable.find(name); i != st.unusable.end())
        BF_INFO(self, "Provider {} is skipped for {} assets: {}", name, type,
                i->second);
  st.started_unix = st.settings.start_unix_time != 0
                      ? st.settings.start_unix_time
                      : static_cast<int64_t>(std::time(nullptr));
  pull_more(self);
  return {
    [=](job_queue_actor queue) {
      auto& st = self->state;
      st.queue = std::move(queue);
      ++st.queue_epoch;
      st.pull_in_flight = false;
      // The new queue knows nothing of our jobs: tell it even when the
      // window is full (a pull for nothing), so that their leases are kept.
      if (st.held.size() >= st.settings.window)
        self
          ->request(st.queue, caf::infinite, atom::pull_v, uint32_t{0},
                    held_ids(self))
          .then([](std::vector<backfill_job>&) {}, [](caf::error&) {});
      pull_more(self);
    },
    [=](rate_limiter_actor limiter) {
      auto& st = self->state;
      st.limiter = std::move(limiter);
      ++st.limiter_epoch;
      for (const auto& entry : st.granting)
        request_grant(self, entry.first);
      dispatch(self);
    },
    [=](writer_actor writer) { self->state.writer = std::move(writer); },
    [=](atom::drain) { return on_drain(self); },
    [=](atom::tick) {
      self->state.retry.fired();
      dispatch(self);
      pull_more(self);
    },
  };
}

fetcher_actor spawn_fetcher(caf::actor_system& sys, job_queue_actor queue,
                            rate_limiter_actor limiter, writer_actor writer,
                            size_t concurrency, http_options http,
                            fetcher_settings settings) {
  std::vector<fetcher_worker_actor> workers;
  for (size_t i = 0; i < std::max<size_t>(concurrency, 1); ++i)
    workers.push_back(spawn_fetcher_worker(sys, http));
  auto logic = sys.spawn(fetcher, std::move(queue), std::move(limiter),
                         std::move(writer), workers, std::move(settings));
  for (const auto& worker : workers)
    bind_lifetimes(logic, worker);
  return logic;
}

} // namespace backfilld
