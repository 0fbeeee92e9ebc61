// The steps of one job in the fetcher: start it on its chain, GET the chart,
// turn the answer into the next step, store the series. Part of the fetcher
// actor (see fetcher_steps.hpp).

#include <stdexcept>

#include "actors/fetcher_steps.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "provider/wire.hpp"
#include "provider/yahoo_chart.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/failpoints.hpp"
#include "telemetry/log.hpp"
#include "telemetry/redact.hpp"

namespace backfilld::fetcher_steps {

namespace {

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

} // namespace

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

} // namespace backfilld::fetcher_steps
