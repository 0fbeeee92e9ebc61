// `tracked_assets`: which assets portfolios hold, and when their prices were
// last written.

#pragma once

#include <cstdint>
#include <vector>

#include "messages/types.hpp"

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace backfilld {

/// Upserts the rows of `assets`, recomputing `tracking_users` as the number
/// of distinct portfolios with a transaction in the asset (never an
/// increment: work may be replayed). Assets in `fresh` also get
/// `last_price_update = now()`. Assets without a market price, without
/// prices (never fetched, or failed) or without transactions (no portfolio
/// holds them) get no row; an existing row counts down to zero. Returns rows
/// changed.
int32_t refresh_tracking(pqxx::connection_base& conn,
                         const std::vector<asset_id>& assets,
                         const std::vector<asset_id>& fresh);

} // namespace backfilld
