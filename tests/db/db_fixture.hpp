// A fresh database per test on the test run's PostgreSQL cluster.
//
// The cluster is started by CTest's `pg.start` fixture (scripts/pg-cluster.sh)
// and named by BACKFILLD_TEST_PG_URL. Each fixture creates its own database
// and drops it afterwards, so tests run in parallel without meeting.

#pragma once

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <unistd.h>

#include <pqxx/pqxx>

#include "db/connection.hpp"
#include "db/schema.hpp"

namespace backfilld::test {

inline std::string admin_url() {
  auto url = std::getenv("BACKFILLD_TEST_PG_URL");
  if (url == nullptr || *url == '\0')
    CAF_FAIL("BACKFILLD_TEST_PG_URL is not set (run the tests through ctest)");
  return url;
}

/// `admin` with its database name replaced.
inline std::string url_for(const std::string& admin, const std::string& db) {
  auto query = admin.find('?');
  auto path = admin.rfind('/', query);
  auto result = admin.substr(0, path + 1) + db;
  if (query != std::string::npos)
    result += admin.substr(query);
  return result;
}

struct db_fixture {
  std::string admin = admin_url();
  std::string name;
  std::string url;
  std::unique_ptr<pqxx::connection> conn;

  explicit db_fixture(bool apply_schema = true) {
    static std::atomic<int> counter{0};
    name = "unit_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    admin_exec("DROP DATABASE IF EXISTS " + name);
    admin_exec("CREATE DATABASE " + name);
    url = url_for(admin, name);
    conn = connect();
    if (apply_schema) {
      migration_report report;
      auto f = migrate(*conn, report);
      if (f)
        CAF_FAIL("migration failed: " << f.detail);
    }
  }

  ~db_fixture() {
    conn.reset();
    admin_exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  }

  std::unique_ptr<pqxx::connection> connect() const {
    db_settings s;
    s.url = url;
    return open_connection(s);
  }

  void admin_exec(const std::string& sql) {
    pqxx::connection admin_conn{admin};
    pqxx::nontransaction txn{admin_conn};
    txn.exec(sql);
  }

  /// Runs SQL in its own transaction on the test database.
  pqxx::result exec(const std::string& sql) {
    pqxx::work txn{*conn};
    auto result = txn.exec(sql);
    txn.commit();
    return result;
  }

  /// Runs `write` (on `conn`) while another session has run `sql` without
  /// committing, and commits that only once `write` waits for its locks:
  /// the other writer wins a race that `write` must survive.
  template <class Write>
  void race_with_uncommitted(const std::string& sql, Write write) {
    auto other = connect();
    pqxx::work theirs{*other};
    theirs.exec(sql);
    std::thread ours{write};
    auto watch = connect();
    auto waiting = [&] {
      pqxx::work txn{*watch};
      return txn
        .exec1("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type"
               " = 'Lock' AND datname = current_database()")[0]
        .as<int>();
    };
    for (int i = 0; i < 500 && waiting() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CAF_CHECK_EQUAL(waiting(), 1);
    theirs.commit();
    ours.join();
  }

  /// The first column of the first row, as T.
  template <class T>
  T scalar(const std::string& sql) {
    auto rows = exec(sql);
    if (rows.empty())
      CAF_FAIL("no row for: " << sql);
    return rows[0][0].as<T>();
  }
};

} // namespace backfilld::test
