// backfilld's schema, applied as idempotent, versioned migrations.
//
// They create the tracker's tables only where they are missing, add the
// columns and indexes backfilld relies on, and never drop or rewrite data. A
// transaction-scoped advisory lock makes two daemons that start together
// migrate once.

#pragma once

#include <string>

#include "messages/ec.hpp"

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace backfilld {

/// The schema version this build needs.
int schema_version();

/// What `migrate` did.
struct migration_report {
  int from_version = 0;
  int to_version = 0;
};

/// Brings the schema to `schema_version()`. Fails with
/// `insufficient_privilege` naming the missing privilege when the role may
/// not create what is missing; does nothing (and needs no DDL privilege)
/// when the schema is current.
fault migrate(pqxx::connection_base& conn, migration_report& report);

} // namespace backfilld
