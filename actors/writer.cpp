#include "actors/writer.hpp"

#include <algorithm>
#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/sec.hpp>
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

/// What became of one job of a batch: answers the fetcher, tells the
/// tracker about committed rows.
void stored(self_pointer self, pending_write& pending,
            const stored_outcome& outcome) {
  const auto& job = pending.write.job;
  const auto& series = pending.write.series;
  metrics().write_seconds.observe(pending.took.elapsed());
  if (outcome.failed()) {
    metrics().write_errors++;
    BF_WARN(self, "Cannot store {} prices for {}: {}", series.bars.size(),
            job.symbol, outcome.error);
    pending.reply.deliver(to_error(fault{outcome.code, outcome.error}));
    return;
  }
  const auto& summary = outcome.summary;
  if (summary.basis_changed()) {
    // Nothing was written. The fetcher refetches the whole range and the
    // rewrite is what gets logged.
    BF_DEBUG(self,
             "The stored history of {} is on another basis than the "
             "provider's answer ({})",
             job.symbol, summary.disagreement);
    pending.reply.deliver(summary);
    return;
  }
  metrics().rows_written += static_cast<uint64_t>(summary.changed);
  log_stored(self, job, series, summary);
  log_outliers(self, job, series, summary);
  // A refresh that changed nothing leaves `last_price_update`.
  if (job.kind == job_kind::refresh && summary.changed == 0)
    self->send(self->state.tracker, atom::track_v, job.asset);
  else
    self->send(self->state.tracker, atom::track_v, job.asset, atom::write_v);
  pending.reply.deliver(summary);
}

/// The store did not answer the batch: nothing of it is known to be stored.
void not_stored(self_pointer self, std::vector<pending_write>& batch,
                const caf::error& err) {
  metrics().write_errors += batch.size();
  BF_WARN(self, "Cannot store the prices of {} assets ({}{}): {}", batch.size(),
          batch.front().write.job.symbol, batch.size() > 1 ? ", ..." : "",
          render(err));
  for (auto& pending : batch)
    pending.reply.deliver(err);
}

void send_batches(self_pointer self);

/// Gives the batch to the store `index`: its assets are in flight.
void hand_over(writer_state& st, size_t index,
               const std::vector<pending_write>& batch) {
  st.slots[index].busy = true;
  for (const auto& pending : batch)
    ++st.in_flight[pending.write.job.asset];
}

/// The store `index` answered `batch` (or failed to): it is free again, and
/// the batch's assets are no longer in flight (unless in another batch).
void batch_done(self_pointer self, size_t index,
                const std::vector<pending_write>& batch) {
  auto& st = self->state;
  st.slots[index].busy = false;
  for (const auto& pending : batch)
    if (auto i = st.in_flight.find(pending.write.job.asset);
        i != st.in_flight.end() && --i->second == 0)
      st.in_flight.erase(i);
}

/// The store `index` did not answer `batch` in time, but may still be
/// storing it: it stays busy, and the batch's assets in flight, until it
/// answers a round trip sent after it (its mailbox is in order; the
/// watchdog cuts a call that hangs). Otherwise a later series of one of
/// those assets could be stored by another connection meanwhile.
void await_store(self_pointer self, size_t index,
                 std::shared_ptr<std::vector<pending_write>> batch) {
  auto released = [=] {
    batch_done(self, index, *batch);
    send_batches(self);
  };
  self
    ->request(self->state.slots[index].store, caf::infinite, atom::write_v,
              std::vector<series_write>{})
    .then([=](std::vector<stored_outcome>&) { released(); },
          [=](caf::error&) { released(); });
}

/// Sends the next batch to the idle store `index`; false if no series may go.
bool send_batch(self_pointer self, size_t index) {
  auto& st = self->state;
  auto batch = std::make_shared<std::vector<pending_write>>(
    next_batch(st.waiting, st.settings.batch_max, st.settings.batch_max_rows,
               st.in_flight));
  if (batch->empty())
    return false;
  std::vector<series_write> writes;
  writes.reserve(batch->size());
  for (const auto& pending : *batch)
    writes.push_back(pending.write);
  hand_over(st, index, *batch);
  self
    ->request(st.slots[index].store, st.settings.store_timeout, atom::write_v,
              std::move(writes))
    .then(
      [=](std::vector<stored_outcome>& outcomes) {
        batch_done(self, index, *batch);
        if (outcomes.size() != batch->size()) {
          not_stored(
            self, *batch,
            to_error(fault{
              ec::database_error,
              "the store answered " + std::to_string(outcomes.size()) +
                " outcomes for " + std::to_string(batch->size()) + " series"}));
        } else {
          if (batch->size() > 1)
            BF_DEBUG(self, "Stored {} series in one transaction",
                     batch->size());
          for (size_t i = 0; i < batch->size(); ++i)
            stored(self, (*batch)[i], outcomes[i]);
        }
        send_batches(self);
      },
      [=](caf::error& err) {
        not_stored(self, *batch, err);
        if (err == caf::sec::request_timeout) {
          await_store(self, index, batch);
        } else {
          batch_done(self, index, *batch);
        }
        send_batches(self);
      });
  return true;
}

/// Gives each idle store a batch of the series waiting, while any may go
/// (a store's answer sends the next).
void send_batches(self_pointer self) {
  auto& st = self->state;
  for (size_t i = 0; i < st.slots.size() && !st.waiting.empty(); ++i)
    if (!st.slots[i].busy && !send_batch(self, i))
      return;
}

} // namespace

std::vector<pending_write>
next_batch(std::deque<pending_write>& waiting, uint32_t max_series,
           size_t max_rows,
           const std::unordered_map<asset_id, uint32_t>& in_flight) {
  std::vector<pending_write> batch;
  size_t rows = 0;
  for (auto i = waiting.begin();
       i != waiting.end() && (batch.empty() || batch.size() < max_series);) {
    if (in_flight.count(i->write.job.asset) > 0) {
      ++i;
      continue;
    }
    auto bars = i->write.series.bars.size();
    if (!batch.empty() && rows + bars > max_rows)
      break;
    rows += bars;
    batch.push_back(std::move(*i));
    i = waiting.erase(i);
  }
  return batch;
}

writer_actor::behavior_type
writer(writer_actor::stateful_pointer<writer_state> self,
       std::vector<writer_store_actor> stores, tracker_actor tracker,
       writer_settings settings) {
  for (auto& store : stores)
    self->state.slots.push_back(store_slot{std::move(store)});
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
      // The store decides what of an extension is stored, in the
      // transaction that reads the stored days it must agree with.
      auto promise = self->make_response_promise<write_summary>();
      self->state.waiting.push_back(
        pending_write{series_write{job, std::move(series)}, promise, {}});
      send_batches(self);
      return promise;
    },
    [=](tracker_actor tracker) { self->state.tracker = std::move(tracker); },
  };
}

writer_actor spawn_writer(caf::actor_system& sys, db_settings db,
                          db_watchdog_actor watchdog, tracker_actor tracker,
                          writer_settings settings) {
  std::vector<writer_store_actor> stores;
  for (uint32_t i = 1; i <= std::max(settings.connections, 1u); ++i)
    stores.push_back(spawn_writer_store(sys, db, watchdog, i));
  auto logic = sys.spawn(writer, stores, std::move(tracker), settings);
  // Any store dying takes the writer and its other stores with it: the
  // supervisor restarts them together. (CAF 0.17 does not answer the
  // promises a dead actor held: a fetcher learns of a write lost this way
  // from its own request's time-out, and the job is retried from the
  // table.)
  for (const auto& store : stores)
    bind_lifetimes(logic, store);
  return logic;
}

} // namespace backfilld
