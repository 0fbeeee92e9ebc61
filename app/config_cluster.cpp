// The `cluster.*` options: the process's role and the fetcher nodes'
// settings (issue 13).

#include <unistd.h>

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include "app/config.hpp"
#include "app/config_check.hpp"
#include "messages/error.hpp"

namespace backfilld {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0)
    return "node";
  return buf;
}

std::chrono::milliseconds ms(caf::timespan x) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(x);
}

} // namespace

void config::add_cluster_options() {
  cluster_node_name = host_name();
  opt_group{custom_options_, "cluster"}
    .add(cluster_role, "role",
         "all (one process), core (pipeline + gate for fetcher nodes) or "
         "fetcher (no database; --core=HOST:PORT); also --role=")
    .add(cluster_core, "core",
         "HOST:PORT of the core a fetcher node joins; also --core=")
    .add(cluster_address, "address",
         "address the core's gate binds to: keep it on a private network")
    .add(cluster_port, "port", "TCP port of the core's gate")
    .add(cluster_node_name, "node-name",
         "this node's name in logs and status (default: the host name)")
    .add(cluster_heartbeat_interval, "heartbeat-interval",
         "how often a node and its core say they are alive")
    .add(cluster_heartbeat_timeout, "heartbeat-timeout",
         "silence after which a node is dropped (its jobs handed back) or "
         "a node drops its core and reconnects")
    .add(cluster_reconnect_max, "reconnect-max",
         "cap of a node's reconnect backoff (starts at 1s)")
    .add(cluster_requests_per_second, "requests-per-second",
         "the whole cluster's request rate, split over its fetchers (0: no "
         "cap)")
    .add(cluster_tls, "tls", "TLS with mutual authentication between nodes")
    .add(cluster_certificate, "certificate", "this node's PEM certificate")
    .add(cluster_key, "key", "its PEM private key")
    .add(cluster_key_passphrase, "key-passphrase",
         "the key's passphrase, if any")
    .add(cluster_cafile, "cafile",
         "PEM file of the CA that signs every node's certificate");
}

caf::expected<cluster_settings> config::cluster() const {
  auto bad = [this](const std::string& key, const std::string& what) {
    return make_error(ec::invalid_config,
                      key + " " + what + " (" + source_of(key) + ")");
  };
  cluster_settings s;
  if (cluster_role == "all")
    s.role = process_role::all;
  else if (cluster_role == "core")
    s.role = process_role::core;
  else if (cluster_role == "fetcher")
    s.role = process_role::fetcher;
  else
    return bad("cluster.role",
               "must be all, core or fetcher, not " + cluster_role);
  if (cluster_port < 1 || cluster_port > 65535)
    return bad("cluster.port", "must be within 1..65535");
  s.address = cluster_address;
  s.port = static_cast<uint16_t>(cluster_port);
  if (s.role == process_role::fetcher) {
    auto colon = cluster_core.rfind(':');
    if (cluster_core.empty())
      return bad("cluster.core",
                 "is needed by a fetcher node (--core=HOST:PORT)");
    if (colon == std::string::npos || colon == 0)
      return bad("cluster.core", "must be HOST:PORT, not " + cluster_core);
    auto port = std::strtol(cluster_core.c_str() + colon + 1, nullptr, 10);
    if (port < 1 || port > 65535)
      return bad("cluster.core", "has no valid port: " + cluster_core);
    s.core_host = cluster_core.substr(0, colon);
    // [::1]:4270
    if (s.core_host.size() > 2 && s.core_host.front() == '[' &&
        s.core_host.back() == ']')
      s.core_host = s.core_host.substr(1, s.core_host.size() - 2);
    s.core_port = static_cast<uint16_t>(port);
  }
  if (cluster_node_name.empty())
    return bad("cluster.node-name", "must not be empty");
  s.node_name = cluster_node_name;
  s.heartbeat_interval = ms(cluster_heartbeat_interval);
  s.heartbeat_timeout = ms(cluster_heartbeat_timeout);
  s.reconnect_max = ms(cluster_reconnect_max);
  if (s.heartbeat_interval < std::chrono::milliseconds{100})
    return bad("cluster.heartbeat-interval", "must be at least 100ms");
  if (s.heartbeat_timeout < 2 * s.heartbeat_interval)
    return bad("cluster.heartbeat-timeout",
               "must be at least twice cluster.heartbeat-interval");
  if (s.reconnect_max < std::chrono::milliseconds{1'000})
    return bad("cluster.reconnect-max", "must be at least 1s");
  if (cluster_requests_per_second < 0)
    return bad("cluster.requests-per-second", "must not be negative");
  s.requests_per_second = cluster_requests_per_second;
  s.tls = cluster_tls;
  if (s.tls) {
    // Mutual authentication: each side checks the other against the CA.
    if (cluster_cafile.empty())
      return bad("cluster.cafile", "is needed with cluster.tls=true");
    if (cluster_certificate.empty())
      return bad("cluster.certificate", "is needed with cluster.tls=true");
    if (cluster_key.empty())
      return bad("cluster.key", "is needed with cluster.tls=true");
  }
  s.protocol = protocol_version();
  return s;
}

void config::load_cluster_modules(const cluster_settings& s) {
  if (s.role == process_role::all)
    return;
  caf::actor_system_config::load<caf::io::middleman>();
  // CAF's own heartbeat closes half-open connections (a partition) a little
  // after ours gave up on them, so that a node can connect again: its
  // middleman reuses a connection to the same host and port while it lives.
  caf::timespan interval{s.heartbeat_interval};
  caf::timespan timeout{s.heartbeat_timeout + 2 * s.heartbeat_interval};
  set("middleman.heartbeat-interval", interval);
  set("middleman.connection-timeout", timeout);
  if (s.tls) {
    caf::actor_system_config::load<caf::openssl::manager>();
    openssl_certificate = cluster_certificate;
    openssl_key = cluster_key;
    openssl_passphrase = cluster_key_passphrase;
    openssl_cafile = cluster_cafile;
  }
}

} // namespace backfilld
