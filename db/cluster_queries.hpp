// The core's node table, `backfilld_cluster_nodes`: the fetcher nodes that
// joined lately, for `backfilld status` (issue 13). The core writes it every
// heartbeat interval or so, never per job.

#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "messages/types.hpp"

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace backfilld {

/// Upserts one row per node (state `connected`, or `lost` with its reason)
/// and deletes lost nodes not seen for `prune_after`; returns the rows
/// written. One transaction. Throws what libpqxx throws.
int32_t store_nodes(pqxx::connection_base& conn,
                    const std::vector<node_report>& nodes,
                    std::chrono::milliseconds prune_after);

/// A node as `backfilld status` shows it.
struct node_status {
  std::string name;
  /// ISO 8601, UTC.
  std::string connected_since;
  std::string last_seen;
  int32_t jobs_in_hand = 0;
  int64_t done = 0;
  int64_t failed = 0;
  int32_t per_minute = 0;
  /// "connected" or "lost". A row its core stopped updating (the core died)
  /// reads as lost after a minute.
  std::string state;
  std::string lost_reason;
};

/// Every node in the table, by name.
std::vector<node_status> read_nodes(pqxx::connection_base& conn);

} // namespace backfilld
