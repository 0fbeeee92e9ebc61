// What the operator's one-shot commands read and change (`backfilld status`,
// `backfilld retry`, `backfilld backfill`, `backfilld refresh`).

#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "db/provider_state_queries.hpp"
#include "messages/types.hpp"

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace backfilld {

/// Revives failed jobs for one symbol (or all when `symbol` is empty) so they
/// run again with fresh attempts. Returns how many were revived.
int32_t retry_failed(pqxx::connection_base& conn, const std::string& symbol);

/// How many jobs are in each state, for `backfilld status`.
struct job_state_count {
  std::string kind;
  std::string state;
  int64_t jobs = 0;
};
std::vector<job_state_count> count_jobs(pqxx::connection_base& conn);

/// A failed job as `backfilld status` shows it.
struct failed_job {
  asset_id asset = 0;
  std::string symbol;
  std::string kind;
  int32_t attempts = 0;
  std::string last_error;
  std::string finished_at;
};
std::vector<failed_job> list_failed_jobs(pqxx::connection_base& conn,
                                         int limit);

/// An asset as the operator names it.
struct asset_ref {
  asset_id id = 0;
  std::string symbol;
};

/// The assets whose symbol is `symbol` (any case); several when the tracker
/// lists one symbol twice.
std::vector<asset_ref> assets_by_symbol(pqxx::connection_base& conn,
                                        const std::string& symbol);

/// The asset with this id; empty when there is none.
std::vector<asset_ref> asset_by_id(pqxx::connection_base& conn, asset_id id);

/// Every asset someone holds (`tracked_assets.tracking_users > 0`).
std::vector<asset_ref> tracked_assets(pqxx::connection_base& conn);

/// What `backfilld refresh --all` refreshes, the scheduler's choice: tracked
/// assets with a market price (not cash or custom) and prices already (the
/// first backfill is the daemon's), not inactive (`backfilld retry` first).
std::vector<asset_ref> refreshable_assets(pqxx::connection_base& conn);

/// A job a one-shot command waits for.
struct queued_job {
  job_id id = 0;
  asset_id asset = 0;
  /// Its state when queued: "pending", or "running" when another daemon
  /// holds it (its outcome is awaited, not fetched again).
  std::string state;
};

/// Makes a job of `kind` due now for each asset, for a one-shot command: a
/// live job is reused, else the asset's newest row of that kind is revived
/// with fresh attempts, else a row is added; the table keeps one row per
/// asset and kind. `want_from` (or `no_day`) is the day a backfill must reach
/// back to. Its `last_error` is cleared, so that a new one is this run's.
std::vector<queued_job> queue_now(pqxx::connection_base& conn,
                                  const std::vector<asset_id>& assets,
                                  job_kind kind, day_number want_from);

/// Where a one-shot command's job stands.
struct job_progress {
  job_id id = 0;
  asset_id asset = 0;
  std::string state;
  int32_t attempts = 0;
  /// Empty unless an attempt failed since `queue_now`.
  std::string last_error;
  /// When a failed attempt waits for its retry: "2026-12-01 04:41:07 UTC".
  std::string next_attempt_at;
};
std::vector<job_progress> job_progresses(pqxx::connection_base& conn,
                                         const std::vector<job_id>& jobs);

/// One line of `backfilld status`: an asset with prices, a tracking row or a
/// job.
struct asset_status {
  asset_id asset = 0;
  std::string symbol;
  /// Stored prices, and the first and last of their days (`no_day`: none).
  int64_t rows = 0;
  day_number first_day = no_day;
  day_number last_day = no_day;
  /// `tracked_assets.last_price_update` in UTC, ISO 8601; empty when NULL.
  std::string last_update;
  /// -1 when the asset has no `tracked_assets` row.
  int32_t tracking_users = -1;
  /// `asset_prices.source` of the newest price; empty when none.
  std::string source;
  /// The newest job of any kind (kind empty: none).
  std::string job_kind;
  std::string job_state;
  int32_t job_attempts = 0;
  /// The newest job's `last_error`, else the asset state's (see below).
  std::string last_error;
  /// From `backfilld_asset_state`: not requested any more since then.
  std::string inactive_since;
  std::string inactive_reason;
  /// Bars held back as outliers (`price_outliers`).
  int64_t held_back = 0;
  /// Whether the provider has a price for it (not cash or custom).
  bool market_price = true;

  /// Whether its prices are kept current, and so can be stale: tracked,
  /// active, with a market price (`stale_assets`' choice).
  bool kept_current() const {
    return tracking_users > 0 && inactive_since.empty() && market_price;
  }
};

/// What `backfilld status` shows.
struct status_report {
  /// Ordered by symbol, then id.
  std::vector<asset_status> assets;
  /// Jobs by kind and state, of these assets when filtered, else of all.
  std::vector<job_state_count> jobs;
  /// The running daemon's last snapshot of each provider (filled by
  /// `read_provider_states`, db/provider_state_queries.hpp).
  std::vector<provider_status> providers;
};

/// Reads the status of every asset backfilld knows (with prices, a tracking
/// row or a job), or only of `only` when not empty, in one snapshot and a
/// fixed number of statements: no round trip per asset.
status_report read_status(pqxx::connection_base& conn,
                          const std::vector<asset_id>& only);

} // namespace backfilld
