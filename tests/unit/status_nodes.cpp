#define CAF_SUITE status_nodes
#include "app/status_nodes.hpp"

#include <caf/test/unit_test.hpp>

#include <rapidjson/document.h>

using namespace backfilld;

namespace {

std::vector<node_status> two_nodes() {
  node_status a;
  a.name = "fetch-1";
  a.connected_since = "2026-12-01T08:00:00Z";
  a.last_seen = "2026-12-01T08:10:00Z";
  a.jobs_in_hand = 4;
  a.done = 1200;
  a.failed = 3;
  a.per_minute = 95;
  a.state = "connected";
  auto b = a;
  b.name = "fetch-2";
  b.jobs_in_hand = 0;
  b.state = "lost";
  b.lost_reason = "heartbeat timeout";
  return {a, b};
}

} // namespace

CAF_TEST(no nodes and no section) {
  CAF_CHECK_EQUAL(nodes_table({}), "");
}

CAF_TEST(the table lists each node with its state and counts) {
  auto text = nodes_table(two_nodes());
  CAF_CHECK(text.find("Fetcher nodes\n") != std::string::npos);
  CAF_CHECK(text.find("fetch-1  connected ") != std::string::npos);
  CAF_CHECK(text.find("fetch-2  lost (heartbeat timeout)") !=
            std::string::npos);
  CAF_CHECK(text.find("      4     1200        3       95\n") !=
            std::string::npos);
}

CAF_TEST(the json document gains a nodes array) {
  auto doc = with_nodes_json("{\"assets\":[]}\n", two_nodes());
  CAF_CHECK_EQUAL(doc.back(), '\n');
  rapidjson::Document parsed;
  parsed.Parse(doc.c_str());
  CAF_REQUIRE(!parsed.HasParseError());
  CAF_CHECK(parsed["assets"].IsArray());
  const auto& nodes = parsed["nodes"];
  CAF_REQUIRE_EQUAL(nodes.Size(), 2u);
  CAF_CHECK_EQUAL(std::string{nodes[0]["name"].GetString()}, "fetch-1");
  CAF_CHECK_EQUAL(std::string{nodes[0]["state"].GetString()}, "connected");
  CAF_CHECK(nodes[0]["lost_reason"].IsNull());
  CAF_CHECK_EQUAL(nodes[0]["jobs_in_hand"].GetInt(), 4);
  CAF_CHECK_EQUAL(nodes[0]["done"].GetInt64(), 1200);
  CAF_CHECK_EQUAL(nodes[0]["per_minute"].GetInt(), 95);
  CAF_CHECK_EQUAL(std::string{nodes[1]["lost_reason"].GetString()},
                  "heartbeat timeout");
  // No nodes: an empty array, still there for scripts.
  auto empty = with_nodes_json("{\"assets\":[]}\n", {});
  CAF_CHECK_EQUAL(empty, "{\"assets\":[],\"nodes\":[]}\n");
}
