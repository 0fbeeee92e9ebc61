// What the detached stores (job, price, tracking) share: one database
// session whose calls the watchdog guards, and queries whose results or
// faults become CAF results. Each store's state derives from `store_base`.

#pragma once

#include <optional>
#include <utility>

#include <caf/make_message.hpp>
#include <caf/result.hpp>

#include <spdlog/spdlog.h>

#include "actors/db_watchdog.hpp"
#include "db/session.hpp"
#include "messages/error.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/log_once.hpp"

namespace backfilld {

struct store_base {
  std::optional<db_session> db;
  call_guard guard;
  /// The store's name in log lines ("job-store").
  const char* source = "store";
  /// While the database is away, its reason is said once, here, and the
  /// callers' retries get a short error instead of the server's message
  /// again (issue 12.4).
  log_once said;

  /// Prepares the session (it connects on first use); every call on it is
  /// bounded by `settings.stall_timeout` through `watchdog`. Call once: the
  /// session keeps references into this object.
  void open(db_settings settings, db_watchdog_actor watchdog,
            const char* name) {
    source = name;
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
    // For /readyz: any other outcome means the server answered.
    metrics().database_reachable = fault.code != ec::database_unavailable;
    if (fault.code == ec::database_unavailable) {
      metrics().db_unavailable++;
      if (said.failed(source, fault.detail))
        spdlog::warn("[{}] Database unavailable: {}; retrying quietly", source,
                     fault.detail);
      else
        fault.detail = "database still unavailable (reason logged before)";
    } else if (auto quiet = said.recovered(source)) {
      spdlog::info("[{}] Database available again ({} more failed calls)",
                   source, *quiet);
    }
    if (fault)
      return to_error(std::move(fault));
    return result;
  }
};

} // namespace backfilld
