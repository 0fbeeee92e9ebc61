// What the metrics endpoint asks the database: the queue as it stands, by
// job kind. The table, not this process's memory, knows the backlog of every
// daemon on the database.

#pragma once

#include "telemetry/counters.hpp"

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace backfilld {

/// Counts live and failed jobs of each kind of `all_job_kinds`, the pending
/// ones that are due, and how long the oldest due one has waited; one grouped,
/// read-only statement bounded by a short statement timeout so that a
/// scrape-time sample never loads a busy server. Kinds the table has but the
/// list lacks are ignored. Throws what libpqxx throws.
queue_sample sample_queue(pqxx::connection_base& conn);

} // namespace backfilld
