#include "db/event_queries.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>

#include <pqxx/pqxx>

#include "db/array_literal.hpp"
#include "db/connection.hpp"
#include "db/prepared.hpp"
#include "db/price_queries.hpp"
#include "db/refresh_queries.hpp"

namespace backfilld {

namespace {

const char* known_splits_sql = R"sql(
SELECT date - DATE '1970-01-01' FROM asset_events
WHERE asset_id = $1 AND kind = 'split'
)sql";

const char* known_dividends_sql = R"sql(
SELECT date - DATE '1970-01-01' FROM asset_events
WHERE asset_id = $1 AND kind = 'dividend'
)sql";

const char* upsert_event_sql = R"sql(
INSERT INTO asset_events AS e
  (asset_id, date, kind, amount, numerator, denominator, source, fetched_at)
VALUES ($1, DATE '1970-01-01' + $2::int, $3, $4::numeric, $5::numeric,
        $6::numeric, $7, now())
ON CONFLICT (asset_id, date, kind) DO UPDATE
SET amount = EXCLUDED.amount, numerator = EXCLUDED.numerator,
    denominator = EXCLUDED.denominator, source = EXCLUDED.source,
    fetched_at = EXCLUDED.fetched_at
WHERE (e.amount, e.numerator, e.denominator, e.source)
      IS DISTINCT FROM
      (EXCLUDED.amount, EXCLUDED.numerator, EXCLUDED.denominator,
       EXCLUDED.source)
)sql";

const char* record_outlier_sql = R"sql(
INSERT INTO price_outliers (asset_id, date, close, reason, evidence)
VALUES ($1, DATE '1970-01-01' + $2::int, $3::numeric, $4, $5)
ON CONFLICT (asset_id, date) DO NOTHING
)sql";

// A bad print stored while it was the newest day of an answer (one
// neighbour cannot tell a print from a move): the same close from the same
// provider, now that both neighbours show it, goes.
const char* unstore_outlier_sql = R"sql(
DELETE FROM asset_prices
WHERE asset_id = $1 AND date = DATE '1970-01-01' + $2::int
  AND close = $3::numeric AND source = $4
)sql";

// Days the provider now serves with a close that passed the check. (The
// primary key finds the asset's few held days; the list filters them.)
const prepared_sql corrected_outliers_sql{"backfilld_corrected_outliers", R"sql(
DELETE FROM price_outliers
WHERE asset_id = $1 AND date - DATE '1970-01-01' = ANY ($2::int[])
)sql"};

std::string ratio_text(const price_event& split) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g:%g", split.numerator, split.denominator);
  return buf;
}

std::optional<std::string> optional_number(double x, bool present) {
  if (!present)
    return std::nullopt;
  return numeric_text(x);
}

/// Reads what `new_split_disagreement` needs, only when the series
/// announces a split at all (rarely).
std::string check_new_splits(pqxx::transaction_base& txn, asset_id asset,
                             const price_series& series, double tolerance) {
  auto has_split = std::any_of(
    series.events.begin(), series.events.end(),
    [](const price_event& e) { return e.kind == event_kind::split; });
  if (!has_split || series.bars.empty())
    return {};
  std::vector<day_number> known;
  for (const auto& row : txn.exec_params(known_splits_sql, asset))
    known.push_back(row[0].as<day_number>());
  auto first = first_stored_day(txn, asset);
  if (first == no_day)
    return {};
  return new_split_disagreement(series, known, first,
                                stored_closes(txn, asset, series), tolerance);
}

/// A dividend the stored history has not seen: Yahoo's `adj_close` of every
/// day before it moved by its factor, mostly by less than `basis_tolerance`,
/// so only the event tells. Stored days before it and before the series stay
/// on the old factor unless the whole history is fetched again.
std::string check_new_dividends(pqxx::transaction_base& txn, asset_id asset,
                                const price_series& series) {
  auto has_dividend = std::any_of(
    series.events.begin(), series.events.end(),
    [](const price_event& e) { return e.kind == event_kind::dividend; });
  if (!has_dividend || series.bars.empty())
    return {};
  auto first = first_stored_day(txn, asset);
  if (first == no_day)
    return {};
  std::vector<day_number> known;
  for (const auto& row : txn.exec_params(known_dividends_sql, asset))
    known.push_back(row[0].as<day_number>());
  return new_dividend(series, known, first);
}

void store_events(pqxx::transaction_base& txn, asset_id asset,
                  const price_series& series) {
  for (const auto& e : series.events) {
    auto split = e.kind == event_kind::split;
    txn.exec_params(upsert_event_sql, asset, e.day, to_string(e.kind),
                    optional_number(e.amount, !split),
                    optional_number(e.numerator, split),
                    optional_number(e.denominator, split), series.source);
  }
}

/// Records the held bars; returns the days not on record before.
std::vector<day_number> record_outliers(pqxx::transaction_base& txn,
                                        asset_id asset,
                                        const price_series& series,
                                        bool clear_corrected) {
  std::vector<day_number> fresh;
  for (const auto& held : series.held) {
    auto r =
      txn.exec_params(record_outlier_sql, asset, held.day,
                      numeric_text(held.close), held.reason, held.evidence);
    if (r.affected_rows() > 0)
      fresh.push_back(held.day);
    txn.exec_params(unstore_outlier_sql, asset, held.day,
                    numeric_text(held.close), series.source);
  }
  if (clear_corrected && !series.bars.empty()) {
    std::vector<day_number> days;
    days.reserve(series.bars.size());
    for (const auto& bar : series.bars)
      days.push_back(bar.day);
    exec_prepared(txn, corrected_outliers_sql, asset, array_literal(days));
  }
  return fresh;
}

} // namespace

std::string new_split_disagreement(const price_series& series,
                                   const std::vector<day_number>& known_splits,
                                   day_number first_stored,
                                   const std::vector<stored_close>& stored,
                                   double tolerance) {
  if (series.bars.empty() || first_stored == no_day)
    return {};
  auto covered_from = series.bars.front().day;
  for (const auto& e : series.events) {
    if (e.kind != event_kind::split ||
        std::find(known_splits.begin(), known_splits.end(), e.day) !=
          known_splits.end())
      continue;
    // Only stored days before the split and before the series are left on
    // the old basis by this write.
    if (first_stored >= std::min(e.day, covered_from))
      continue;
    std::vector<price_bar> served_before;
    for (const auto& bar : series.bars)
      if (bar.day < e.day)
        served_before.push_back(bar);
    std::vector<stored_close> stored_before;
    for (const auto& s : stored)
      if (s.day < e.day)
        stored_before.push_back(s);
    auto compared = std::any_of(
      stored_before.begin(), stored_before.end(), [&](const stored_close& s) {
        return std::any_of(served_before.begin(), served_before.end(),
                           [&](const price_bar& b) { return b.day == s.day; });
      });
    if (compared &&
        basis_disagreement(served_before, stored_before, tolerance).empty())
      continue; // Stored after the split: already on the new basis.
    return "a new split " + ratio_text(e) + " on " + iso_date(e.day);
  }
  return {};
}

std::string new_dividend(const price_series& series,
                         const std::vector<day_number>& known_dividends,
                         day_number first_stored) {
  if (series.bars.empty() || first_stored == no_day)
    return {};
  auto covered_from = series.bars.front().day;
  for (const auto& e : series.events) {
    // Only stored days before the dividend and before the series are left
    // on the old factor by this write.
    if (e.kind != event_kind::dividend ||
        first_stored >= std::min(e.day, covered_from) ||
        std::find(known_dividends.begin(), known_dividends.end(), e.day) !=
          known_dividends.end())
      continue;
    char amount[32];
    std::snprintf(amount, sizeof(amount), "%g", e.amount);
    return std::string{"a new dividend of "} + amount + " on " +
           iso_date(e.day);
  }
  return {};
}

namespace {

/// `store_series` inside `txn`; on a basis disagreement it returns the
/// summary that says so and the caller must not commit what `txn` wrote.
/// `path` as in `write_series`: a pqxx::unique_violation means "store it
/// again with write_path::upsert".
write_summary store_in(pqxx::transaction_base& txn, const backfill_job& job,
                       const price_series& series, double tolerance,
                       write_path path = write_path::insert_when_new) {
  // A refresh's rewrite asks from a margin before the first stored day (an
  // Asia-Pacific bar is stamped on the previous UTC day): it replaces the
  // stored history and does not reach further back with each rewrite.
  if (job.kind == job_kind::refresh && job.rewrites_history() &&
      job.first_price != no_day && !series.bars.empty() &&
      series.bars.front().day < job.first_price) {
    auto from_first = series;
    from_first.bars.erase(std::remove_if(from_first.bars.begin(),
                                         from_first.bars.end(),
                                         [&](const price_bar& bar) {
                                           return bar.day < job.first_price;
                                         }),
                          from_first.bars.end());
    return store_in(txn, job, from_first, tolerance, path);
  }
  write_summary summary;
  // A rewrite replaces what was found on another basis: it is stored whole,
  // like a backfill, and not checked again.
  auto extension = job.kind == job_kind::extend && !job.rewrites_history();
  auto refresh = job.kind == job_kind::refresh && !job.rewrites_history();
  if (!job.rewrites_history()) {
    summary.disagreement = check_new_splits(txn, job.asset, series, tolerance);
    if (!summary.basis_changed())
      summary.disagreement = check_new_dividends(txn, job.asset, series);
    if (summary.basis_changed())
      return summary;
  }
  summary = extension ? write_extension(txn, job.asset, series, tolerance)
            : refresh ? write_refresh(txn, job.asset, series, tolerance)
                      : write_series(txn, job.asset, series, path);
  if (summary.basis_changed())
    return summary;
  store_events(txn, job.asset, series);
  // An extension stores only the days before the stored history: the days
  // it served after that prove nothing about what is stored.
  summary.new_outliers = record_outliers(txn, job.asset, series, !extension);
  // With the prices: a rerun after a broken connection finds nothing new to
  // store, and must not be the one that decides what was refreshed.
  note_written(txn, job, series.exchange_timezone);
  return summary;
}

} // namespace

write_summary store_series(pqxx::connection_base& conn, const backfill_job& job,
                           const price_series& series, double tolerance) {
  return insert_or_upsert([&](write_path path) {
    return in_own_transaction(conn, [&](pqxx::transaction_base& txn) {
      return store_in(txn, job, series, tolerance, path);
    });
  });
}

namespace {

/// The outcome of a job whose write threw; a lost connection (or a commit
/// whose outcome is unknown) is thrown on: the whole call fails then.
stored_outcome refused(const std::exception_ptr& error) {
  auto f = classify(error);
  if (f.code == ec::database_unavailable)
    std::rethrow_exception(error);
  stored_outcome out;
  out.code = f.code;
  out.error = f.detail.empty() ? std::string{"unknown error"} : f.detail;
  return out;
}

/// `store_series` for one job of a batch, in a transaction of its own.
stored_outcome store_alone(pqxx::connection_base& conn, const series_write& w,
                           double tolerance) {
  try {
    stored_outcome out;
    out.summary = store_series(conn, w.job, w.series, tolerance);
    return out;
  } catch (...) {
    return refused(std::current_exception());
  }
}

} // namespace

std::vector<stored_outcome> store_batch(pqxx::connection_base& conn,
                                        const std::vector<series_write>& writes,
                                        double tolerance) {
  std::vector<stored_outcome> out(writes.size());
  // Alone, a job needs no savepoint: its own transaction is all or nothing.
  if (writes.size() == 1) {
    out[0] = store_alone(conn, writes[0], tolerance);
    return out;
  }
  try {
    pqxx::work txn{conn};
    for (size_t i = 0; i < writes.size(); ++i) {
      // A savepoint per asset: its failure or disagreement undoes its own
      // writes and nothing of the others'. (Plain SQL: libpqxx 6.4's
      // subtransaction left the transaction aborted after a failed
      // statement, as db.event_queries showed.)
      txn.exec("SAVEPOINT backfilld_asset");
      try {
        out[i].summary = insert_or_upsert(
          [&](write_path path) {
            return store_in(txn, writes[i].job, writes[i].series, tolerance,
                            path);
          },
          [&] { txn.exec("ROLLBACK TO SAVEPOINT backfilld_asset"); });
      } catch (...) {
        out[i] = refused(std::current_exception());
      }
      if (out[i].failed() || out[i].summary.basis_changed())
        txn.exec("ROLLBACK TO SAVEPOINT backfilld_asset");
      else
        txn.exec("RELEASE SAVEPOINT backfilld_asset");
    }
    txn.commit();
    return out;
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const pqxx::in_doubt_error&) {
    throw;
  } catch (const std::exception&) {
    if (classify(std::current_exception()).code == ec::database_unavailable)
      throw;
    // The batch as a whole failed (nothing of it committed, e.g. a deferred
    // constraint at commit): one asset per transaction, so that one bad
    // asset never blocks the others.
  }
  for (size_t i = 0; i < writes.size(); ++i)
    out[i] = store_alone(conn, writes[i], tolerance);
  return out;
}

} // namespace backfilld
