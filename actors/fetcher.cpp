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
#include "provider/symbols.hpp"
#include "provider/yahoo_chart.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/failpoints.hpp"
#include "telemetry/log.hpp"

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

void write_series(self_pointer self, const backfill_job& job,
                  price_series series) {
  auto& st = self->state;
  self
    ->request(st.writer, st.settings.store_timeout, atom::write_v, job,
              std::move(series))
    .then(
      [=](const write_summary& summary) {
        if (summary.basis_changed())
          rewrite_history(self, job, summary.disagreement);
        else
          finish(self, job, atom::done_v, summary);
      },
      [=](caf::error& err) {
        fail(self, job, failure_kind::transient,
             "storing prices failed: " + render(err));
      });
}

/// Turns what the provider said into the job's next step.
void on_response(self_pointer self, const backfill_job& job,
                 const http_response& response) {
  if (failpoint("fetcher.crash"))
    throw std::runtime_error("failpoint fetcher.crash");
  auto& st = self->state;
  auto outcome = classify(job, response, unix_now(self), st.settings.classify);
  if (auto skipped = outcome.series.skipped_bars; skipped > 0) {
    metrics().bars_skipped += static_cast<uint64_t>(skipped);
    BF_INFO(self, "Skipped {} bars of {} with missing or invalid values",
            skipped, job.symbol);
  }
  switch (outcome.what) {
  case fetch_result::series:
    write_series(self, job, std::move(outcome.series));
    return;
  case fetch_result::pause:
    self->send(st.limiter, atom::throttle_v, caf::timespan{outcome.pause});
    finish(self, job, atom::failed_v, std::move(outcome.failure));
    return;
  case fetch_result::settled:
    BF_INFO(self, "{}", outcome.note);
    finish(self, job, atom::done_v, write_summary{});
    return;
  case fetch_result::failure:
    if (outcome.failure.kind == failure_kind::transient)
      metrics().fetch_errors++;
    finish(self, job, atom::failed_v, std::move(outcome.failure));
    return;
  }
}

void get_chart(self_pointer self, const backfill_job& job,
               fetcher_worker_actor worker, std::string url) {
  auto& st = self->state;
  metrics().fetches++;
  BF_DEBUG(self, "GET {}", url);
  stopwatch took;
  self
    ->request(worker, st.settings.http_timeout, atom::get_v, http_request{url})
    .then(
      [=](const http_response& response) {
        metrics().fetch_seconds.observe(took.elapsed());
        metrics().provider_response(response.status);
        // The answer first: a 429 must pause the limiter before the next
        // job on this worker asks it for a grant.
        on_response(self, job, response);
        self->state.idle_workers.push_back(worker);
        dispatch(self);
      },
      [=](caf::error& err) {
        metrics().fetch_seconds.observe(took.elapsed());
        metrics().provider_response(0);
        self->state.idle_workers.push_back(worker);
        dispatch(self);
        metrics().fetch_errors++;
        fail(self, job, failure_kind::transient, render(err));
      });
}

/// Asks the limiter for a grant for a job that has its worker. Answers from
/// a limiter that was replaced meanwhile are ignored (`limiter_epoch`).
void request_grant(self_pointer self, job_id id) {
  auto& st = self->state;
  auto epoch = st.limiter_epoch;
  self->request(st.limiter, st.settings.grant_timeout, atom::acquire_v)
    .then(
      [=](atom::grant) {
        auto& st = self->state;
        auto i = st.granting.find(id);
        if (epoch != st.limiter_epoch || i == st.granting.end())
          return;
        auto wait = std::move(i->second);
        st.granting.erase(i);
        get_chart(self, st.held.at(id), std::move(wait.worker),
                  std::move(wait.url));
      },
      [=](caf::error& err) {
        auto& st = self->state;
        auto i = st.granting.find(id);
        if (epoch != st.limiter_epoch || i == st.granting.end())
          return;
        // Lost or timed out: the job goes back to the front of the line.
        BF_WARN(self, "No grant for job {}: {}; asking again", id, render(err));
        st.idle_workers.push_back(std::move(i->second.worker));
        st.granting.erase(i);
        --st.active;
        st.ready.push_front(id);
        maybe_finish_drain(self);
        retry_later(self);
      });
}

/// Maps the symbol, then waits for a grant: the provider is never called
/// without one.
void start(self_pointer self, const backfill_job& job,
           fetcher_worker_actor worker) {
  auto& st = self->state;
  ++st.active;
  std::string ticker;
  if (auto f = yahoo_symbol(job.asset_type, job.symbol, ticker)) {
    st.idle_workers.push_back(worker);
    BF_INFO(self, "Skipping {} (asset {}): {}", job.symbol, job.asset,
            f.detail);
    fail(self, job, failure_kind::permanent,
         to_string(f.code) + std::string{": "} + f.detail);
    return;
  }
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
  auto window =
    window_for(asked, st.settings.range, unix_now(self), st.settings.overlap);
  st.granting[job.id] = grant_wait{
    std::move(worker), chart_url(st.settings.base_url, ticker, window)};
  request_grant(self, job.id);
}

/// Starts ready jobs while workers are free.
void dispatch(self_pointer self) {
  auto& st = self->state;
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
