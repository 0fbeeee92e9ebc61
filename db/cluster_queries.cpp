#include "db/cluster_queries.hpp"

#include <pqxx/pqxx>

namespace backfilld {

namespace {

constexpr const char* upsert_sql = R"sql(
  INSERT INTO backfilld_cluster_nodes AS n
         (name, connected_since, last_seen, jobs_in_hand, done, failed,
          per_minute, state, lost_reason, updated_at)
  VALUES ($1, to_timestamp($2 / 1000.0), to_timestamp($3 / 1000.0), $4, $5,
          $6, $7, $8, NULLIF($9, ''), now())
  ON CONFLICT (name) DO UPDATE
     SET connected_since = excluded.connected_since,
         last_seen = excluded.last_seen,
         jobs_in_hand = excluded.jobs_in_hand,
         done = excluded.done,
         failed = excluded.failed,
         per_minute = excluded.per_minute,
         state = excluded.state,
         lost_reason = excluded.lost_reason,
         updated_at = now()
)sql";

constexpr const char* prune_sql = R"sql(
  DELETE FROM backfilld_cluster_nodes
   WHERE (state = 'lost' OR updated_at < now() - interval '1 minute')
     AND last_seen < now() - $1 * interval '1 millisecond'
)sql";

constexpr const char* read_sql = R"sql(
  SELECT name,
         to_char(connected_since AT TIME ZONE 'UTC',
                 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
         to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
         jobs_in_hand, done, failed, per_minute,
         CASE WHEN state = 'connected'
                   AND updated_at < now() - interval '1 minute'
              THEN 'lost' ELSE state END,
         COALESCE(lost_reason,
                  CASE WHEN state <> 'connected' THEN 'lost'
                       WHEN updated_at < now() - interval '1 minute'
                       THEN 'no word from its core'
                       ELSE '' END)
    FROM backfilld_cluster_nodes
   ORDER BY name
)sql";

} // namespace

int32_t store_nodes(pqxx::connection_base& conn,
                    const std::vector<node_report>& nodes,
                    std::chrono::milliseconds prune_after) {
  pqxx::work txn{conn};
  for (const auto& n : nodes)
    txn.exec_params(upsert_sql, n.name, n.connected_since_ms, n.last_seen_ms,
                    n.jobs_in_hand, n.done, n.failed, n.per_minute,
                    n.lost.empty() ? "connected" : "lost", n.lost);
  txn.exec_params(prune_sql, static_cast<int64_t>(prune_after.count()));
  txn.commit();
  return static_cast<int32_t>(nodes.size());
}

std::vector<node_status> read_nodes(pqxx::connection_base& conn) {
  pqxx::read_transaction txn{conn};
  std::vector<node_status> result;
  for (const auto& row : txn.exec(read_sql)) {
    node_status n;
    n.name = row[0].as<std::string>();
    n.connected_since = row[1].as<std::string>();
    n.last_seen = row[2].as<std::string>();
    n.jobs_in_hand = row[3].as<int32_t>();
    n.done = row[4].as<int64_t>();
    n.failed = row[5].as<int64_t>();
    n.per_minute = row[6].as<int32_t>();
    n.state = row[7].as<std::string>();
    n.lost_reason = row[8].as<std::string>();
    result.push_back(std::move(n));
  }
  return result;
}

} // namespace backfilld
