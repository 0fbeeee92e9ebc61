// Connecting to PostgreSQL: connection strings, secrets in logs, and what a
// libpqxx exception means for the caller.

#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include <pqxx/connection>

#include "messages/ec.hpp"
#include "telemetry/redact.hpp"

namespace backfilld {

/// How backfilld connects. `url` is a libpq URL or key=value string; an empty
/// one means libpq's own defaults (PGHOST, PGUSER, …). Passwords may come
/// from PGPASSWORD or ~/.pgpass instead of the URL.
struct db_settings {
  std::string url;
  std::chrono::seconds connect_timeout{5};
  /// TCP keepalives find a peer that vanished without a reset.
  std::chrono::seconds keepalive_idle{30};
  std::chrono::seconds keepalive_interval{10};
  int keepalive_count = 3;
  /// Bounds how long sent data may stay unacknowledged (0 = kernel default).
  std::chrono::milliseconds tcp_user_timeout{30'000};
  /// Server-side bound on any statement backfilld runs.
  std::chrono::milliseconds statement_timeout{60'000};
  /// A call still blocked after this is presumed stuck on a dead peer and
  /// its connection is cut (0 = never). Above `statement_timeout`.
  std::chrono::milliseconds stall_timeout{90'000};
};

/// The connection string libpq gets: the URL plus backfilld's defaults
/// (application_name, timeouts, keepalives) for keys the URL leaves unset.
std::string connection_string(const db_settings& settings);

/// Opens a connection and applies the session settings. Throws what libpqxx
/// throws; callers turn that into a fault with `classify`.
std::unique_ptr<pqxx::connection> open_connection(const db_settings& settings);

/// Maps the exception in flight (from libpqxx or the standard library) to a
/// fault: broken connections are `database_unavailable`, missing privileges
/// `insufficient_privilege`, anything else `database_error`.
fault classify(const std::exception_ptr& error);

/// A "host:pid:nonce" name for this process, stored in `locked_by`.
std::string worker_name();

} // namespace backfilld
