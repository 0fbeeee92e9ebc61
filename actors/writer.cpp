#include "actors/writer.hpp"

#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/lifetime.hpp"
#include "actors/writer_store.hpp"
#include "db/price_queries.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "provider/trading_day.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/failpoints.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = writer_actor::stateful_pointer<writer_state>;

/// The seed daemon's words, which operators grep for.
void log_stored(self_pointer self, const backfill_job& job,
                const price_series& series, const write_summary& summary) {
  if (job.rewrites_history()) {
    BF_INFO(self,
            "Rewrote the history of {}: the provider's adjustment changed "
            "({}); {} records",
            job.symbol, job.rewrite_reason, summary.bars);
  } else if (job.kind == job_kind::backfill) {
    BF_INFO(self, "Backfilled {}: {} records", job.symbol, summary.bars);
  } else if (job.kind == job_kind::refresh) {
    // Routine: said at info only when something new or changed was stored.
    if (summary.changed > 0)
      BF_INFO(self, "Refreshed {}: {} new or changed records", job.symbol,
              summary.changed);
    else
      BF_DEBUG(self, "Refreshed {}: nothing new", job.symbol);
  } else if (summary.bars == 0) {
    BF_INFO(self, "Extended {}: nothing older than its stored history",
            job.symbol);
  } else {
    // The store cut the answer at the first stored day; so does this.
    auto older = bars_to_store(job, series);
    auto from =
      older.bars.empty() ? series.bars.front().day : older.bars.front().day;
    BF_INFO(self, "Extended {} back to {}: {} records", job.symbol,
            iso_date(from), summary.bars);
  }
  if (!job.currency.empty() && !series.currency.empty() &&
      job.currency != series.currency)
    BF_INFO(self,
            "{} is quoted in {} while assets.currency says {}; prices are "
            "stored as served, not rescaled",
            job.symbol, series.currency, job.currency);
}

/// Each bad print once, when it is first recorded: the provider serves it
/// again with every refresh until it corrects it.
void log_outliers(self_pointer self, const backfill_job& job,
                  const price_series& series, const write_summary& summary) {
  for (auto day : summary.new_outliers)
    for (const auto& held : series.held)
      if (held.day == day) {
        metrics().outliers_held++;
        BF_WARN(self, "Held back the {} close of {} as a bad print ({}): {}",
                iso_date(day), job.symbol, held.reason, held.evidence);
      }
}

} // namespace

writer_actor::behavior_type
writer(writer_actor::stateful_pointer<writer_state> self,
       writer_store_actor store, tracker_actor tracker,
       writer_settings settings) {
  self->state.store = std::move(store);
  self->state.tracker = std::move(tracker);
  self->state.settings = settings;
  end_on_exception(self);
  return {
    [=](atom::write, const backfill_job& job,
        price_series series) -> caf::result<write_summary> {
      if (failpoint("writer.crash"))
        throw std::runtime_error("failpoint writer.crash");
      // Before the store sees it: an extension's basis check must not
      // mistake a bad print for an adjustment.
      hold_outliers(series, self->state.settings.outliers);
      if (series.skipped_events > 0)
        BF_INFO(self,
                "Skipped {} dividends or splits of {} with missing or invalid "
                "values",
                series.skipped_events, job.symbol);
      auto promise = self->make_response_promise<write_summary>();
      stopwatch took;
      // The store decides what of an extension is stored, in the
      // transaction that reads the stored days it must agree with.
      self
        ->request(self->state.store, self->state.settings.store_timeout,
                  atom::write_v, job, series)
        .then(
          [=](const write_summary& summary) mutable {
            metrics().write_seconds.observe(took.elapsed());
            if (summary.basis_changed()) {
              // Nothing was written. The fetcher refetches the whole range
              // and the rewrite is what gets logged.
              BF_DEBUG(self,
                       "The stored history of {} is on another basis "
                       "than the provider's answer ({})",
                       job.symbol, summary.disagreement);
              promise.deliver(summary);
              return;
            }
            metrics().rows_written += static_cast<uint64_t>(summary.changed);
            log_stored(self, job, series, summary);
            log_outliers(self, job, series, summary);
            // A refresh that changed nothing leaves `last_price_update`.
            if (job.kind == job_kind::refresh && summary.changed == 0)
              self->send(self->state.tracker, atom::track_v, job.asset);
            else
              self->send(self->state.tracker, atom::track_v, job.asset,
                         atom::write_v);
            promise.deliver(summary);
          },
          [=](caf::error& err) mutable {
            metrics().write_errors++;
            BF_WARN(self, "Cannot store {} prices for {}: {}",
                    series.bars.size(), job.symbol, render(err));
            promise.deliver(std::move(err));
          });
      return promise;
    },
    [=](tracker_actor tracker) { self->state.tracker = std::move(tracker); },
  };
}

writer_actor spawn_writer(caf::actor_system& sys, db_settings db,
                          db_watchdog_actor watchdog, tracker_actor tracker,
                          writer_settings settings) {
  auto store = spawn_writer_store(sys, std::move(db), std::move(watchdog));
  auto logic = sys.spawn(writer, store, std::move(tracker), settings);
  bind_lifetimes(logic, store);
  return logic;
}

} // namespace backfilld
