// backfilld's error codes.
//
// Pure code reports a `fault` (no CAF dependency, so parsers stay cheap to
// build and fuzz); the actor layer turns it into a `caf::error` of the
// "backfill" category (see messages/error.hpp).

#pragma once

#include <cstdint>
#include <string>

namespace backfilld {

/// Everything that can go wrong in backfilld, by cause.
enum class ec : uint8_t {
  /// No error.
  none = 0,
  /// The database refused or dropped the connection; retry after a backoff.
  database_unavailable,
  /// The database rejected a statement.
  database_error,
  /// The database role lacks a privilege backfilld needs.
  insufficient_privilege,
  /// The provider has no data for this symbol ("symbol may be delisted").
  symbol_not_found,
  /// The provider asked us to slow down (HTTP 429).
  rate_limited,
  /// The provider failed (HTTP 5xx or an unexpected status).
  provider_unavailable,
  /// The response was not the chart JSON we expect.
  malformed_response,
  /// The response parsed but held no usable bar.
  no_data,
  /// The response exceeded the configured size cap.
  response_too_large,
  /// Connecting, TLS or the transfer failed, or took too long.
  network_error,
  /// The asset type has no market price (cash, custom).
  no_market_price,
  /// The symbol holds characters no ticker has.
  invalid_symbol,
  /// A notification payload was not what the trigger sends.
  malformed_notification,
  /// A setting is missing or out of range.
  invalid_config,
  /// The actor is draining for shutdown and takes no new work.
  shutting_down,
  /// The provider's plan serves no day this old (CoinGecko's keyless and
  /// demo plans: the past 365 days); asking again cannot help.
  history_limit,
  /// A fetcher node speaks another protocol version than the core.
  protocol_mismatch,
  /// A fetcher node reported on a job it does not hold (a late answer).
  job_not_in_hand,
};

/// Returns the enumerator's name, e.g. "symbol_not_found".
const char* to_string(ec code);

/// Why pure code refused its input. Converts to `true` when it holds an error.
struct fault {
  ec code = ec::none;
  std::string detail;

  explicit operator bool() const {
    return code != ec::none;
  }
};

} // namespace backfilld
