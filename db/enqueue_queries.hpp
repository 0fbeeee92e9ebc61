// Turning sightings into jobs: which assets need a backfill or an extension,
// decided in one statement against `backfill_jobs`, the tracker's
// transactions and the stored prices.

#pragma once

#include <vector>

#include "db/job_queries.hpp"
#include "messages/types.hpp"

namespace backfilld {

/// Queues a backfill for each asset that needs one, has no live job and no
/// failure that still holds it back (a permanent one, or attempts that ran
/// out less than `revive_after` ago). An asset needs a backfill while it has
/// no prices, or while it has transactions, its prices do not reach back to
/// the earlier of its first transaction and `history_range` ago (with a
/// week's slack) and no backfill of it ever finished. An asset that does not
/// need one gets an extension where a transaction predates the first price by
/// more than a week (once per target day; a failed extension is revived like
/// a backfill). A job row is revived in place rather than added, so the table
/// keeps one row per asset and kind. Reports per asset.
std::vector<enqueue_result> enqueue_jobs(pqxx::connection_base& conn,
                                         const std::vector<asset_id>& assets,
                                         const queue_settings& queue);

} // namespace backfilld
