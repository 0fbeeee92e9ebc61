// A series' dividends and splits (`asset_events`) and the bars held back as
// bad prints (`price_outliers`), stored with its prices in one transaction.

#pragma once

#include <string>
#include <vector>

#include "db/price_queries.hpp"
#include "messages/types.hpp"

namespace pqxx {
class connection_base;
class transaction_base;
} // namespace pqxx

namespace backfilld {

/// Why `series` cannot be stored over the stored history without a rewrite:
/// it announces a split that `known_splits` (the days of the asset's stored
/// splits) lacks, while stored prices before the split lie outside what the
/// series covers (any before `first_stored` < the series' first day): those
/// are on the old basis, and Yahoo serves the new one. Empty when there is
/// no such split, or when the stored days the series does cover before the
/// split agree with it within `tolerance` (the history was fetched after
/// the split). `stored` holds the stored closes on the series' days.
/// Names the split, e.g. "a new split 10:1 on 2024-06-10".
std::string new_split_disagreement(const price_series& series,
                                   const std::vector<day_number>& known_splits,
                                   day_number first_stored,
                                   const std::vector<stored_close>& stored,
                                   double tolerance = basis_tolerance);

/// Why `series` cannot be stored over the stored history without a rewrite:
/// it announces a dividend that `known_dividends` (the days of the asset's
/// stored dividends) lacks, after a stored day outside what the series
/// covers (one before `first_stored` < the series' first day). Yahoo then
/// serves every earlier `adj_close` with the dividend's factor, mostly
/// within `basis_tolerance` of the stored one, so only the event tells.
/// Empty when there is none; else names it, e.g. "a new dividend of 0.24 on
/// 2024-06-10".
std::string new_dividend(const price_series& series,
                         const std::vector<day_number>& known_dividends,
                         day_number first_stored);

/// Stores a job's series in one transaction: its prices (a backfill or a
/// rewrite whole, an extension with `write_extension`'s basis check), its
/// events (upserted: a later answer's amounts win) and the bars held back in
/// `series.held` (recorded once in `price_outliers`; a day stored later with
/// a good close is taken off that list, the provider corrected it; the same
/// close stored earlier from the same source, when it was the newest day of
/// an answer and could not be judged, is deleted).
/// A new split or dividend over older stored history
/// (`new_split_disagreement`, `new_dividend`) or an
/// extension on another basis writes nothing and says why in
/// `write_summary::disagreement`: the caller fetches the whole history again
/// and stores it as a rewrite, which is not checked again.
/// `write_summary::new_outliers` lists the held days not on record before.
/// A stored series is also noted in the asset's refresh state
/// (`note_written`, with `series.exchange_timezone`) in that transaction.
write_summary store_series(pqxx::connection_base& conn, const backfill_job& job,
                           const price_series& series,
                           double tolerance = basis_tolerance);

/// Group commit: stores several jobs' series (`series_write`, one
/// `stored_outcome` each, in order) in one transaction, each inside its own
/// savepoint, so that a job that fails (a constraint, bad
/// data) or disagrees with the stored basis leaves the others stored. When
/// the transaction as a whole cannot commit, nothing of it stays and every
/// job is stored again in a transaction of its own. Every outcome is
/// final when this returns: a job's rows are committed exactly when its
/// outcome neither failed nor changed basis. A lost connection (or a commit
/// whose outcome is unknown) is thrown, as by `store_series`.
std::vector<stored_outcome> store_batch(pqxx::connection_base& conn,
                                        const std::vector<series_write>& writes,
                                        double tolerance = basis_tolerance);

} // namespace backfilld
