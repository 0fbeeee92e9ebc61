// A connection that opens lazily and reopens after a break; the unit of
// database access for a detached store actor.

#pragma once

#include <exception>
#include <memory>
#include <utility>

#include <pqxx/connection>

#include "db/connection.hpp"
#include "messages/ec.hpp"

namespace backfilld {

class db_session {
public:
  explicit db_session(db_settings settings) : settings_(std::move(settings)) {
    // nop
  }

  /// Runs `f(connection)`, connecting first when needed. Returns the fault
  /// of any exception; a broken connection is dropped, so the next call
  /// reconnects. Never throws.
  template <class F>
  fault run(F&& f) {
    try {
      if (!conn_)
        conn_ = open_connection(settings_);
      std::forward<F>(f)(*conn_);
      return {};
    } catch (...) {
      auto result = classify(std::current_exception());
      if (result.code == ec::database_unavailable)
        disconnect();
      return result;
    }
  }

  /// Whether a connection is open right now.
  bool connected() const {
    return conn_ != nullptr;
  }

  /// The connection's socket, or -1 (for the watchdog that unblocks a call
  /// stuck on a silently dead peer).
  int socket() const {
    return conn_ ? conn_->sock() : -1;
  }

  /// Closes the connection (destructors never throw in libpqxx).
  void disconnect() noexcept {
    conn_.reset();
  }

  const db_settings& settings() const {
    return settings_;
  }

private:
  db_settings settings_;
  std::unique_ptr<pqxx::connection> conn_;
};

} // namespace backfilld
