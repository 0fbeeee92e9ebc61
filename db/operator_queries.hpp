// What the operator's one-shot commands read and change (`backfilld status`,
// `backfilld retry`).

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/types.hpp"

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace backfilld {

/// Revives failed jobs for one symbol (or all when `symbol` is empty) so they
/// run again with fresh attempts. Returns how many were revived.
int32_t retry_failed(pqxx::connection_base& conn, const std::string& symbol);

/// How many jobs are in each state, for `backfilld status`.
struct job_state_count {
  std::string kind;
  std::string state;
  int64_t jobs = 0;
};
std::vector<job_state_count> count_jobs(pqxx::connection_base& conn);

/// A failed job as `backfilld status` shows it.
struct failed_job {
  asset_id asset = 0;
  std::string symbol;
  std::string kind;
  int32_t attempts = 0;
  std::string last_error;
  std::string finished_at;
};
std::vector<failed_job> list_failed_jobs(pqxx::connection_base& conn,
                                         int limit);

} // namespace backfilld
