// Writing a price series: one transaction per asset, so an asset has all of
// a series or none of it.

#pragma once

#include <functional>
#include <string>
#include <vector>

#include "messages/types.hpp"

namespace pqxx {
class connection_base;
class transaction_base;
} // namespace pqxx

namespace backfilld {

/// How `write_series` may store the rows.
enum class write_path {
  /// A plain INSERT when nothing is stored in the series' span (a first
  /// backfill: about half the database's work of an upsert), else the
  /// upsert.
  insert_when_new,
  /// The upsert, always: after an insert_when_new write lost a race.
  upsert,
};

/// Sends the bars as arrays in one `INSERT … SELECT FROM unnest(…)` (no
/// temporary table: creating and dropping one per write cost more than the
/// rows, bench/results/), upserting them with
/// `ON CONFLICT (asset_id, date) DO UPDATE … WHERE … IS DISTINCT FROM`, so a
/// replayed series changes nothing and a corrected one converges to what
/// the provider served. A value the provider left out (adjusted close,
/// volume, currency) keeps what is stored. Takes the plain INSERT where it
/// can, and stores again with the upsert when that lost a race.
write_summary write_series(pqxx::connection_base& conn, asset_id asset,
                           const price_series& series);

/// `write_series` inside a caller's transaction (which also stores the
/// series' events), without committing it. With insert_when_new it throws
/// pqxx::unique_violation when another writer stored one of the days since
/// the check: the caller's transaction (or savepoint) is aborted then, and
/// the caller stores the series again with write_path::upsert. (No
/// savepoint of its own: inside a batch's savepoint per asset it would
/// double the subtransactions, and PostgreSQL tracks only 64 per
/// transaction cheaply.)
write_summary write_series(pqxx::transaction_base& txn, asset_id asset,
                           const price_series& series,
                           write_path path = write_path::insert_when_new);

/// Runs `store(write_path::insert_when_new)`; when that lost a race
/// (pqxx::unique_violation: another writer stored one of the days since the
/// check), runs `undo` (rolling back what the failed statement aborted, if
/// anything is left to) and then `store(write_path::upsert)`.
write_summary
insert_or_upsert(const std::function<write_summary(write_path)>& store,
                 const std::function<void()>& undo = {});

/// Runs `write` in a transaction of its own, committed unless the answer
/// disagreed with the stored basis (then nothing of it is kept).
write_summary in_own_transaction(
  pqxx::connection_base& conn,
  const std::function<write_summary(pqxx::transaction_base&)>& write);

/// How far an answer's close (or adjusted close) may stray from the stored
/// one on the same day before the stored history counts as adjusted on
/// another basis. Wide enough for Yahoo's float32 rounding and late
/// corrections, far below any split and most dividend adjustments.
constexpr double basis_tolerance = 0.005;

/// A stored day's prices, as `basis_disagreement` compares them.
struct stored_close {
  day_number day = no_day;
  double close = 0;
  /// Not positive when NULL.
  double adj_close = -1;
};

/// The first of `served`'s bars whose day is stored and whose close (or
/// adjusted close, when both sides have one) differs from the stored one by
/// more than `tolerance` (relative), described for the log ("close of
/// 2024-03-08: stored 200.5, served 100.25"); empty when all agree. Both
/// lists are sorted by day.
std::string basis_disagreement(const std::vector<price_bar>& served,
                               const std::vector<stored_close>& stored,
                               double tolerance = basis_tolerance);

/// The stored days `series` spans (its first to its last bar's day), for a
/// basis check.
std::vector<stored_close> stored_closes(pqxx::transaction_base& txn,
                                        asset_id asset,
                                        const price_series& series);

/// The asset's oldest stored day, as of the transaction; `no_day` when none
/// is stored.
day_number first_stored_day(pqxx::transaction_base& txn, asset_id asset);

/// Stores an extension in one transaction: compares the answer's bars on
/// days already stored with the stored prices and, when they agree, upserts
/// only the bars before the first stored day (as of this transaction).
/// When they disagree it writes nothing and says why in
/// `write_summary::disagreement`: the answer is adjusted on another basis
/// than the stored history (a split or dividend since it was fetched), and
/// only a rewrite of the whole history keeps it on one basis.
write_summary write_extension(pqxx::connection_base& conn, asset_id asset,
                              const price_series& series,
                              double tolerance = basis_tolerance);

/// Stores a refresh in one transaction: when the answer agrees with the
/// stored days it covers (within `tolerance`; the newest stored day is not
/// compared unless it is the only one), upserts all of it, so that
/// new days are added, late corrections converge and identical rows are
/// left alone (`write_summary::changed` counts the rest). When it disagrees
/// it writes nothing and says why, as `write_extension` does.
write_summary write_refresh(pqxx::connection_base& conn, asset_id asset,
                            const price_series& series,
                            double tolerance = basis_tolerance);

/// `write_refresh` inside a caller's transaction, without committing it; on
/// a disagreement it has written nothing and the caller aborts.
write_summary write_refresh(pqxx::transaction_base& txn, asset_id asset,
                            const price_series& series,
                            double tolerance = basis_tolerance);
/// `write_extension` inside a caller's transaction, without committing it;
/// on a disagreement it has written nothing and the caller aborts.
write_summary write_extension(pqxx::transaction_base& txn, asset_id asset,
                              const price_series& series,
                              double tolerance = basis_tolerance);

/// What of a job's series is stored: all of a backfill's, and of an
/// extension's only the days before the first stored price as of the claim
/// (`write_extension` cuts by the first stored day as of its transaction).
/// Yahoo adjusts a whole answer as of the day it answers, so rewriting stored
/// days with it would put one asset's history on two bases.
price_series bars_to_store(const backfill_job& job, price_series series);

/// A price as PostgreSQL `numeric` text, in the shortest form that reads
/// back as the same double ("150.25", not "150.250000000000001").
std::string numeric_text(double x);

} // namespace backfilld
