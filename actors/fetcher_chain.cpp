// The fetcher's walk along a job's provider chain: which provider is asked
// next, the per-provider slots and pauses, the breakers, the grants. Part of
// the fetcher actor (see fetcher_steps.hpp).

#include <algorithm>
#include <chrono>

#include "actors/fetcher_steps.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/log.hpp"
#include "telemetry/provider_health.hpp"

namespace backfilld::fetcher_steps {

namespace {

/// The actor clock's time, for the breakers (tests control it).
caf::actor_clock::time_point clock_now(self_pointer self) {
  return self->clock().now();
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

} // namespace

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

} // namespace backfilld::fetcher_steps
