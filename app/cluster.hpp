// Fetcher nodes (issue 13): the role a process plays, the settings of the
// core's gate and of a node's link, and how each role is started.
//
// `--role=all` (the default) is the single process it always was: no
// middleman is loaded. `--role=core` runs the pipeline and publishes the
// cluster gate; `--role=fetcher --core=HOST:PORT` runs a fetcher with no
// database at all.

#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "messages/interfaces.hpp"

namespace backfilld {

class config;
struct pipeline_settings;
struct role_factory;

enum class process_role { all, core, fetcher };

struct cluster_settings {
  process_role role = process_role::all;
  /// Where a fetcher node finds its core.
  std::string core_host;
  uint16_t core_port = 4270;
  /// Where a core publishes its gate.
  std::string address = "127.0.0.1";
  uint16_t port = 4270;
  std::string node_name;
  std::chrono::milliseconds heartbeat_interval{2'000};
  std::chrono::milliseconds heartbeat_timeout{10'000};
  std::chrono::milliseconds reconnect_max{30'000};
  double requests_per_second = 0;
  bool tls = false;
  /// The protocol version this build speaks (or the test override).
  int32_t protocol = 0;
};

/// "all", "core" or "fetcher".
const char* to_string(process_role x);

/// The version this process states or accepts: `cluster_protocol_version`,
/// unless BACKFILLD_TEST_PROTOCOL_VERSION (a test hook only) says otherwise.
int32_t protocol_version();

/// Runs a fetcher node until a signal stops it; the exit code (1 when the
/// core refused the node's protocol).
int run_fetcher_node(config& cfg, const cluster_settings& cluster);

/// The core's part next to the pipeline: publishes the gate, and wraps
/// `make` so that the gate learns every new job queue and writer (and so
/// that `fetch.concurrency=0` runs no local fetcher). Returns the gate (its
/// sessions are linked to it), or null with the reason logged when it cannot
/// be published.
cluster_gate_actor start_core(caf::actor_system& sys,
                              const pipeline_settings& settings,
                              const cluster_settings& cluster,
                              role_factory& make);

} // namespace backfilld
