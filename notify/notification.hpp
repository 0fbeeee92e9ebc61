// The payload of a `transaction_created` notification.
//
// The trigger sends `{"asset_id": 12, "transaction_id": 99, "portfolio_id":
// 1}`; only `asset_id` is required, and anything else in the object is ignored
// so that a tracker's own richer trigger keeps working.

#pragma once

#include <string_view>

#include "messages/ec.hpp"
#include "messages/types.hpp"

namespace backfilld {

/// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
constexpr size_t max_notification_payload = 7999;

/// Parses a payload into a sighting. Fails with `malformed_notification` and
/// a reason a human can act on: not JSON, no `asset_id`, not an integer, or
/// out of range (ids are positive 32-bit integers, as `serial` makes them).
fault parse_notification(std::string_view payload, asset_seen& out);

} // namespace backfilld
