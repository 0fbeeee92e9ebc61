// Which assets a catch-up scan looks at.
//
// A full scan reads every asset that has transactions; on a tracker with
// millions of transactions that must not mean reading millions of rows, so
// it walks the `transactions(asset_id …)` index one asset at a time (a
// "loose index scan", one probe per asset). Between full scans, an
// incremental scan reads only what changed since the last one: transactions
// above a high-water mark on `transactions.id`, plus failed jobs whose
// revival is due. Deleted or edited transactions are only seen by a full
// scan, which the next scan becomes when the server counted any.

#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "messages/types.hpp"

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace backfilld {

/// The assets a scan found, and how far it read `transactions`.
struct catch_up_candidates {
  std::vector<asset_id> assets;
  /// Where the next incremental scan starts.
  scan_mark mark;
  /// Whether every asset was looked at (`catch_up_scan`).
  bool full = false;
};

/// Ids below a mark that a later scan checks again: a transaction that took
/// its id before the scan but committed after it is not missed, as long as
/// fewer than this many ids were taken meanwhile. The check counts the rows
/// in that window; only when the count changed are its assets looked at.
constexpr int64_t catch_up_overlap = 1'000;

/// Every asset that has transactions, and every asset still tracked (its
/// transactions may all be gone, and its `tracking_users` must drop).
catch_up_candidates all_assets_with_transactions(pqxx::connection_base& conn);

/// Assets with transactions above `mark` (and in the overlap below it when
/// rows arrived there late), and assets whose jobs failed for want of
/// attempts longer than `revive_after` ago.
catch_up_candidates
assets_changed_since(pqxx::connection_base& conn, const scan_mark& mark,
                     std::chrono::milliseconds revive_after);

/// Whether rows of `transactions` were deleted or updated since `mark`: then
/// only a full scan gets every count right.
bool rewritten_since(pqxx::connection_base& conn, const scan_mark& mark);

/// One catch-up: a full scan when `mark` is negative or `transactions` rows
/// were deleted or updated since it, else an incremental one. The next mark
/// carries the deletion count this decision saw, not a later reading: one
/// taken after the scan could absorb a deletion the server counted meanwhile,
/// and the full scan it calls for would never come.
catch_up_candidates catch_up_scan(pqxx::connection_base& conn,
                                  const scan_mark& mark,
                                  std::chrono::milliseconds revive_after);

} // namespace backfilld
