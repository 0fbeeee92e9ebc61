#include "db/metrics_queries.hpp"

#include <string>

#include <pqxx/pqxx>

namespace backfilld {

queue_sample sample_queue(pqxx::connection_base& conn) {
  pqxx::read_transaction txn{conn};
  // A sample is worth less than anything the tracker runs: give up early.
  txn.exec("SET LOCAL statement_timeout = 5000");
  // The partial indexes on pending and running rows cover those states;
  // failed rows are few (one row per asset and kind, reused on revival).
  auto rows = txn.exec(R"sql(
    SELECT kind,
           count(*) FILTER (WHERE state = 'pending'),
           count(*) FILTER (WHERE state = 'pending'
                            AND next_attempt_at <= now()),
           count(*) FILTER (WHERE state = 'running'),
           count(*) FILTER (WHERE state = 'failed'),
           COALESCE(extract(epoch FROM now() - min(next_attempt_at)
                      FILTER (WHERE state = 'pending'
                              AND next_attempt_at <= now())), 0)::float8
      FROM backfill_jobs
     WHERE state IN ('pending', 'running', 'failed')
     GROUP BY kind
  )sql");
  queue_sample sample{};
  for (const auto& row : rows) {
    auto kind = row[0].as<std::string>();
    for (size_t i = 0; i < std::size(all_job_kinds); ++i) {
      if (kind != to_string(all_job_kinds[i]))
        continue;
      sample[i].pending = row[1].as<int64_t>();
      sample[i].due = row[2].as<int64_t>();
      sample[i].running = row[3].as<int64_t>();
      sample[i].failed = row[4].as<int64_t>();
      sample[i].oldest_due_seconds = row[5].as<double>();
    }
  }
  return sample;
}

} // namespace backfilld
