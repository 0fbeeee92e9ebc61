// Keeping tracked assets current: queueing routine refreshes in batches,
// and `backfilld_asset_state`, what backfilld knows about each asset beyond
// its prices (its exchange's zone, when it was last refreshed, whether it
// stopped answering). Every function runs its own transaction and throws
// what libpqxx throws.

#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "messages/types.hpp"

namespace pqxx {
class connection_base;
class transaction_base;
} // namespace pqxx

namespace backfilld {

/// The exchange zones of tracked assets that are not inactive.
std::set<std::string> refresh_zones(pqxx::connection_base& conn);

/// Queues a `refresh` for up to `batch` assets with ids above `after`, in id
/// order: tracked (`tracking_users > 0`), with prices and a market price, not
/// inactive, without any live job, in `zone` (any zone when empty), and not
/// refreshed within `fresher_than`. A finished refresh row is revived in
/// place, so the table keeps one row per asset and kind.
refresh_batch enqueue_refreshes(pqxx::connection_base& conn,
                                const std::string& zone, asset_id after,
                                std::chrono::milliseconds fresher_than,
                                int32_t batch);

/// A job's series was stored: records the exchange's zone, ends a run of
/// "no data" answers, the last error and inactivity, and, for a backfill or a
/// refresh
/// (not an extension, which only reaches back), the time of the refresh and
/// the newest stored day as `holes_checked_through`: holes before it were in
/// what the provider served, and refreshes stop looking for them.
void note_written(pqxx::connection_base& conn, const backfill_job& job,
                  const std::string& exchange_timezone);

/// `note_written` inside the caller's transaction: `store_series` runs it
/// with the prices, so a rerun after a broken connection cannot find the
/// prices stored and the state not.
void note_written(pqxx::transaction_base& txn, const backfill_job& job,
                  const std::string& exchange_timezone);

/// Whether a failure's reason is the provider saying it has nothing for the
/// symbol ("no data", "not found"), as the fetcher renders it; with a
/// provider chain's reasons ("yahoo: …; coingecko: …"), every one of them.
bool says_no_data(const std::string& reason);

/// A refresh attempt failed (`job` is any job; only refreshes count):
/// records the error and, when the provider said "no data" or "not found",
/// the day of it. After `delisted_after` days of such answers without a
/// success the asset becomes inactive. Returns a line for the log when it
/// did, else empty.
std::string note_refresh_failure(pqxx::connection_base& conn, job_id job,
                                 const std::string& reason, bool no_data,
                                 int32_t delisted_after);

/// `note_refresh_failure` inside the caller's transaction (`fail_job`'s).
std::string note_refresh_failure(pqxx::transaction_base& txn, job_id job,
                                 const std::string& reason, bool no_data,
                                 int32_t delisted_after);

/// `backfilld retry`: makes the matching assets (symbol or id; every one
/// when empty) active again. Returns how many were inactive.
int32_t reactivate_assets(pqxx::connection_base& conn,
                          const std::string& target);

/// A tracked asset whose newest price is older than it should be.
struct stale_asset {
  asset_id asset = 0;
  std::string symbol;
  /// Its newest stored price.
  day_number last_price = no_day;
  /// The last refresh's error, empty when none.
  std::string last_error;
};

/// Tracked, active assets whose newest price is more than `stale_after`
/// weekdays before today (UTC), oldest first: the provider keeps failing
/// them. For `backfilld status`.
std::vector<stale_asset> stale_assets(pqxx::connection_base& conn,
                                      int32_t stale_after);

} // namespace backfilld
