// What the detached stores (job, price, tracking) share: one database
// session whose calls the watchdog guards, and queries whose results or
// faults become CAF results. Each store's state derives from `store_base`.

#pragma once

#include <optional>
#include <utility>

#include <caf/make_message.hpp>
#include <caf/result.hpp>

#include "actors/db_watchdog.hpp"
#include "db/session.hpp"
#include "messages/error.hpp"

namespace backfilld {

struct store_base {
  std::optional<db_session> db;
  call_guard guard;

  /// Prepares the session (it connects on first use); every call on it is
  /// bounded by `settings.stall_timeout` through `watchdog`. Call once: the
  /// session keeps references into this object.
  void open(db_settings settings, db_watchdog_actor watchdog) {
    guard = call_guard{std::move(watchdog), settings.stall_timeout};
    db.emplace(std::move(settings));
    watch_calls(*db, guard);
  }

  /// Runs `f(connection)` and returns what it returns, or the error.
  template <class T, class F>
  caf::result<T> query(F&& f) {
    T result{};
    auto fault =
      db->run([&](pqxx::connection_base& conn) { result = f(conn); });
    if (fault)
      return to_error(std::move(fault));
    return result;
  }
};

} // namespace backfilld
