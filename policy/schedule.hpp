// When routine refreshes are due: every `refresh.interval`, and once a day
// after each exchange's regular close, on the exchange's own clock (its IANA
// zone, DST included). Pure functions of the time; the scheduler actor only
// asks them.

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "messages/types.hpp"

namespace backfilld {

/// The regular close of the exchanges in `zone` on local day `day`, in
/// minutes after local midnight: 16:00 unless the zone's main exchange is
/// known to close otherwise (London 16:30, Frankfurt 17:30, Tokyo 15:30 since
/// 2024-11-05). None for a zone that trades around the clock (UTC: crypto),
/// which the interval serves.
std::optional<int32_t> regular_close(std::string_view zone, day_number day);

/// The first instant (Unix seconds) after `now` at which a zone's daily
/// refresh is due: `after_close` past the regular close of a weekday, local
/// time. 0 when the zone has no close or is unknown to the tz database.
int64_t next_after_close(std::string_view zone, int64_t now,
                         std::chrono::seconds after_close);

/// The latest instant (Unix seconds) at or before `now` at which a zone's
/// daily refresh was due (`next_after_close`'s counterpart): an asset of the
/// zone refreshed after it has the last final bar, whatever the interval
/// says. 0 when the zone has no close or is unknown.
int64_t last_after_close(std::string_view zone, int64_t now,
                         std::chrono::seconds after_close);

/// The next interval run after one at `now`; 0 when the interval is off.
int64_t next_interval(int64_t now, std::chrono::seconds interval);

/// `day` minus `n` weekdays (Saturdays and Sundays do not count): how far
/// back an overlap of `n` trading days reaches, holidays aside.
day_number weekdays_before(day_number day, int32_t n);

} // namespace backfilld
