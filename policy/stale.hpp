// When an asset's prices count as stale: its newest price is older than a
// number of trading days. Trading days are weekdays here (no holiday
// calendar), so a long weekend can make an asset look stale a day early.

#pragma once

#include <cstdint>

#include "messages/types.hpp"

namespace backfilld {

/// The default of `refresh.stale-after` (trading days).
constexpr int32_t default_stale_after = 3;

/// Weekdays strictly after `newest` and strictly before `today`: the
/// sessions that should have a price by now but do not (today's session may
/// still be open). Zero when `newest` is not before `today`.
int32_t missed_weekdays(day_number newest, day_number today);

/// Whether an asset whose newest price is on `newest` is stale on `today`:
/// `stale_after` or more sessions are missing. An asset without prices
/// (`no_day`) is not stale, it is not backfilled yet.
bool is_stale(day_number newest, day_number today, int32_t stale_after);

} // namespace backfilld
