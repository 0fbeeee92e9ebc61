// The statements backfilld runs once or more per job, as prepared statements.
// Private to db/.

#pragma once

#include <utility>

#include <pqxx/connection_base>
#include <pqxx/transaction_base>

namespace backfilld {

/// A statement run per job: parsed once per connection and, once PostgreSQL
/// finds a generic plan as cheap as the custom ones (after five runs),
/// planned once too. As one-off statements, parsing and planning took about
/// a fifth of PostgreSQL's time in a first backfill of 2,000 assets, more
/// than half of that of the small per-job statements (bench/README.md).
struct prepared_sql {
  /// Unique among backfilld's statements.
  const char* name;
  const char* sql;
};

/// Runs `statement` in `txn` with `args` as its parameters. libpqxx 6.4
/// registers a definition once per connection (again is a no-op), sends it
/// to the server on first use, and again on a connection it reopened.
template <class... Args>
pqxx::result exec_prepared(pqxx::transaction_base& txn,
                           const prepared_sql& statement, Args&&... args) {
  txn.conn().prepare(statement.name, statement.sql);
  return txn.exec_prepared(statement.name, std::forward<Args>(args)...);
}

} // namespace backfilld
