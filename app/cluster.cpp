#include "app/cluster.hpp"

#include <cstdlib>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/cluster_gate.hpp"
#include "actors/cluster_store.hpp"
#include "actors/db_watchdog.hpp"
#include "actors/lifetime.hpp"
#include "actors/node_link.hpp"
#include "app/config.hpp"
#include "app/foreground.hpp"
#include "app/pipeline.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/redact.hpp"

namespace backfilld {

namespace {

using std::chrono::milliseconds;

/// The core's fetcher with `fetch.concurrency=0`: it takes no jobs, so the
/// supervisor's pipeline stays whole while only nodes fetch.
fetcher_actor::behavior_type idle_fetcher() {
  return {
    [](job_queue_actor) {}, [](rate_limiter_actor) {},
    [](writer_actor) {},    [](atom::drain) { return int32_t{0}; },
    [](atom::tick) {},
  };
}

} // namespace

const char* to_string(process_role x) {
  switch (x) {
  case process_role::all:
    return "all";
  case process_role::core:
    return "core";
  case process_role::fetcher:
    return "fetcher";
  }
  return "all";
}

int32_t protocol_version() {
  // A test hook only: lets a test start a node of "another build".
  if (auto v = std::getenv("BACKFILLD_TEST_PROTOCOL_VERSION"))
    return static_cast<int32_t>(std::strtol(v, nullptr, 10));
  return cluster_protocol_version;
}

cluster_gate_actor start_core(caf::actor_system& sys,
                              const pipeline_settings& settings,
                              const cluster_settings& cluster,
                              role_factory& make) {
  cluster_gate_settings g;
  g.protocol = cluster.protocol;
  g.heartbeat_interval = cluster.heartbeat_interval;
  g.heartbeat_timeout = cluster.heartbeat_timeout;
  g.store_timeout = settings.writer.store_timeout;
  g.requests_per_second = cluster.requests_per_second;
  g.local_fetcher = settings.fetch_concurrency > 0;
  // The node table has its own connection, guarded like every store's.
  auto watchdog = sys.spawn(db_watchdog);
  auto store = spawn_cluster_store(sys, settings.db, watchdog);
  auto gate = sys.spawn(cluster_gate, store, g);
  bind_lifetimes(gate, store);
  bind_lifetimes(gate, watchdog);
  auto published =
    cluster.tls
      ? caf::openssl::publish(gate, cluster.port, cluster.address.c_str(), true)
      : sys.middleman().publish(gate, cluster.port, cluster.address.c_str(),
                                true);
  if (!published) {
    spdlog::critical("Cannot publish the cluster gate on {}:{}: {}",
                     cluster.address, cluster.port, render(published.error()));
    caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
    return {};
  }
  spdlog::info("cluster gate listening on {}:{}{}", cluster.address, *published,
               cluster.tls ? " (TLS)" : "");
  // Every job queue and writer the supervisor makes, restarts included,
  // goes to the gate and on to the sessions.
  make.job_queue = [inner = make.job_queue, gate](caf::actor_system& sys,
                                                  db_watchdog_actor wd) {
    auto queue = inner(sys, std::move(wd));
    caf::anon_send(gate, queue);
    return queue;
  };
  make.writer = [inner = make.writer, gate](caf::actor_system& sys,
                                            db_watchdog_actor wd,
                                            tracker_actor tracker) {
    auto writer = inner(sys, std::move(wd), std::move(tracker));
    caf::anon_send(gate, writer);
    return writer;
  };
  make.rate_limiter = [inner = make.rate_limiter,
                       gate](caf::actor_system& sys) {
    auto limiter = inner(sys);
    caf::anon_send(gate, limiter);
    return limiter;
  };
  if (settings.fetch_concurrency == 0) {
    spdlog::info("No local fetcher (fetch.concurrency=0): nodes fetch");
    make.fetcher = [](caf::actor_system& sys, job_queue_actor,
                      rate_limiter_actor, writer_actor) {
      return sys.spawn(idle_fetcher);
    };
  }
  return gate;
}

int run_fetcher_node(config& cfg, const cluster_settings& cluster) {
  auto settings = cfg.pipeline();
  if (!settings) {
    spdlog::critical("Invalid configuration: {}", render(settings.error()));
    return 2;
  }
  cfg.load_cluster_modules(cluster);
  spdlog::info("backfilld fetcher node {} starting: core {}:{}{}, provider "
               "{}, {} fetches in flight, window {}",
               cluster.node_name, cluster.core_host, cluster.core_port,
               cluster.tls ? " (TLS)" : "",
               mask_secrets(settings->fetcher.base_url),
               settings->fetch_concurrency, settings->fetcher.window);
  caf::actor_system sys{cfg};
  node_parts parts;
  parts.rate_limiter = [&sys, limits = settings->limiter] {
    return spawn_rate_limiter(sys, limits);
  };
  parts.fetcher = [&sys, n = settings->fetch_concurrency, http = settings->http,
                   f = settings->fetcher](job_queue_actor queue,
                                          rate_limiter_actor limiter,
                                          writer_actor writer) {
    return spawn_fetcher(sys, std::move(queue), std::move(limiter),
                         std::move(writer), n, http, f);
  };
  node_link_settings link;
  link.host = cluster.core_host;
  link.port = cluster.core_port;
  link.hello.protocol = cluster.protocol;
  link.hello.name = cluster.node_name;
  link.tls = cluster.tls;
  link.reconnect_max = cluster.reconnect_max;
  link.heartbeat_interval = cluster.heartbeat_interval;
  link.heartbeat_timeout = cluster.heartbeat_timeout;
  auto mm = cluster.tls ? sys.openssl_manager().actor_handle()
                        : sys.middleman().actor_handle();
  auto node = sys.spawn(node_link, mm, parts, link);
  foreground_plan plan;
  plan.stopped_line = "backfilld fetcher node stopped";
  plan.ask_to_stop = [node] {
    caf::anon_send(node, atom::drain_v);
  };
  plan.deadline = settings->supervision.shutdown_grace + milliseconds{5'000};
  return run_in_foreground(sys, node.address(), plan);
}

} // namespace backfilld
