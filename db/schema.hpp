// backfilld's schema, applied as idempotent, versioned migrations.
//
// They create the tracker's tables only where they are missing, add the
// columns and indexes backfilld relies on, and never drop or rewrite data. A
// transaction-scoped advisory lock makes two daemons that start together
// migrate once.

#pragma once

#include <string>
#include <vector>

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
  /// What was done outside the versioned migrations (indexes built or
  /// dropped concurrently) and what could not be done; for the log.
  std::vector<std::string> notes;
};

/// Makes sure lookups of transactions by asset have an index without
/// doubling the tracker's: drops ours where the tracker has one led by
/// `asset_id`, builds ours otherwise. Runs outside any transaction
/// (`CONCURRENTLY`), gives way to the tracker's locks (short lock_timeout,
/// a few tries) and never fails the migration: what it could not do is in
/// `report.notes` and is tried again at the next start. Run by `migrate`.
void ensure_transactions_index(pqxx::connection_base& conn,
                               migration_report& report);

/// Brings the schema to `schema_version()`. Fails with
/// `insufficient_privilege` naming the missing privilege when the role may
/// not create what is missing; does nothing (and needs no DDL privilege)
/// when the schema is current.
fault migrate(pqxx::connection_base& conn, migration_report& report);

} // namespace backfilld
