#define CAF_SUITE cluster_queries
#include "db/cluster_queries.hpp"
#include <caf/test/unit_test.hpp>

#include "db_fixture.hpp"

#include <chrono>

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

// The core's node table (issue 13) against the real schema.

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

node_report node(std::string name, int64_t seen_ms, std::string lost = "") {
  node_report r;
  r.name = std::move(name);
  r.connected_since_ms = seen_ms - 60'000;
  r.last_seen_ms = seen_ms;
  r.jobs_in_hand = 3;
  r.done = 120;
  r.failed = 2;
  r.per_minute = 40;
  r.lost = std::move(lost);
  return r;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(cluster_queries_tests, db_fixture)

CAF_TEST(nodes are upserted by name and read back as status shows them) {
  auto now = now_ms();
  CAF_CHECK_EQUAL(store_nodes(*conn, {node("b", now), node("a", now)}, 1h), 2);
  auto later = node("a", now);
  later.done = 121;
  CAF_CHECK_EQUAL(store_nodes(*conn, {later}, 1h), 1);
  auto nodes = read_nodes(*conn);
  CAF_REQUIRE_EQUAL(nodes.size(), 2u);
  CAF_CHECK_EQUAL(nodes[0].name, "a");
  CAF_CHECK_EQUAL(nodes[0].done, 121);
  CAF_CHECK_EQUAL(nodes[0].failed, 2);
  CAF_CHECK_EQUAL(nodes[0].jobs_in_hand, 3);
  CAF_CHECK_EQUAL(nodes[0].per_minute, 40);
  CAF_CHECK_EQUAL(nodes[0].state, "connected");
  CAF_CHECK_EQUAL(nodes[0].lost_reason, "");
  // ISO 8601 in UTC.
  CAF_CHECK_EQUAL(nodes[0].last_seen.size(), 20u);
  CAF_CHECK_EQUAL(nodes[0].last_seen.back(), 'Z');
  CAF_CHECK_EQUAL(nodes[1].name, "b");
}

CAF_TEST(a lost node stays listed until the prune age passes) {
  auto now = now_ms();
  store_nodes(*conn,
              {node("gone", now - 2 * 3'600'000, "heartbeat timeout"),
               node("recent", now - 60'000, "disconnected"),
               node("up", now - 2 * 3'600'000)},
              1h);
  auto nodes = read_nodes(*conn);
  CAF_REQUIRE_EQUAL(nodes.size(), 2u);
  CAF_CHECK_EQUAL(nodes[0].name, "recent");
  CAF_CHECK_EQUAL(nodes[0].state, "lost");
  CAF_CHECK_EQUAL(nodes[0].lost_reason, "disconnected");
  // A connected node is never pruned while its core keeps updating it.
  CAF_CHECK_EQUAL(nodes[1].name, "up");
  CAF_CHECK_EQUAL(nodes[1].state, "connected");
}

CAF_TEST(a node whose core stopped updating it reads as lost) {
  store_nodes(*conn, {node("orphan", now_ms())}, 1h);
  exec("UPDATE backfilld_cluster_nodes"
       " SET updated_at = now() - interval '5 minutes'");
  auto nodes = read_nodes(*conn);
  CAF_REQUIRE_EQUAL(nodes.size(), 1u);
  CAF_CHECK_EQUAL(nodes[0].state, "lost");
  CAF_CHECK_EQUAL(nodes[0].lost_reason, "no word from its core");
}

CAF_TEST_FIXTURE_SCOPE_END()
