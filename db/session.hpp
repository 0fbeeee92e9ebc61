// A connection that opens lazily and reopens after a break; the unit of
// database access for a detached store actor.

#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <utility>

#include <pqxx/connection>

#include "db/connection.hpp"
#include "messages/ec.hpp"

namespace backfilld {

class db_session {
 public:
  /// Called with the socket before each call on an open connection, and
  /// without arguments after it (see actors/db_watchdog.hpp).
  using call_hook = std::function<void(int)>;
  using end_hook = std::function<void()>;

  explicit db_session(db_settings settings)
    : settings_(std::move(settings)) {
    // nop
  }

  void on_calls(call_hook begin, end_hook end) {
    begin_ = std::move(begin);
    end_ = std::move(end);
  }

  /// Runs `f(connection)`, connecting first when needed. Returns the fault
  /// of any exception; a broken connection is dropped, so the next call
  /// reconnects. A connection that broke while it sat idle (a restarted
  /// server, a killed backend) gets one fresh try at once: each call is a
  /// single transaction, and every write backfilld makes is idempotent.
  /// Never throws.
  template <class F>
  fault run(F&& f) {
    auto was_connected = connected();
    auto result = attempt(f);
    if (result.code == ec::database_unavailable && was_connected)
      result = attempt(f);
    return result;
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
  template <class F>
  fault attempt(F& f) {
    bool guarded = false;
    try {
      if (!conn_)
        conn_ = open_connection(settings_);
      if (begin_) {
        begin_(conn_->sock());
        guarded = true;
      }
      f(*conn_);
      if (guarded)
        end_();
      return {};
    } catch (...) {
      if (guarded)
        end_();
      auto result = classify(std::current_exception());
      if (result.code == ec::database_unavailable)
        disconnect();
      return result;
    }
  }

  db_settings settings_;
  std::unique_ptr<pqxx::connection> conn_;
  call_hook begin_;
  end_hook end_;
};

} // namespace backfilld
