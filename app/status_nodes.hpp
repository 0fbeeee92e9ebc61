// The "nodes" part of `backfilld status` (issue 13): the fetcher nodes the
// core's table lists. Pure, like app/status_view.

#pragma once

#include <string>
#include <vector>

#include "db/cluster_queries.hpp"

namespace backfilld {

/// A table of the nodes, headed "Fetcher nodes"; empty when there are none
/// (a single process has no nodes to show).
std::string nodes_table(const std::vector<node_status>& nodes);

/// `doc` (status_json's one-line object) with a "nodes" array added.
std::string with_nodes_json(std::string doc,
                            const std::vector<node_status>& nodes);

} // namespace backfilld
