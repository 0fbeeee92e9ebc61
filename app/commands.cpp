#include "app/commands.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <pqxx/pqxx>

#include "app/cluster.hpp"
#include "app/config.hpp"
#include "app/foreground.hpp"
#include "app/metrics_server.hpp"
#include "app/one_shot.hpp"
#include "app/pipeline.hpp"
#include "app/signals.hpp"
#include "app/status_nodes.hpp"
#include "app/status_view.hpp"
#include "db/cluster_queries.hpp"
#include "db/connection.hpp"
#include "db/job_queries.hpp"
#include "db/operator_queries.hpp"
#include "db/refresh_queries.hpp"
#include "db/schema.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "policy/backoff.hpp"
#include "provider/trading_day.hpp"
#include "provider/yahoo_chart.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/log.hpp"
#include "telemetry/log_once.hpp"

namespace backfilld {

namespace {

using std::chrono::milliseconds;

/// The longest pause between two attempts to reach the database at start.
constexpr auto max_startup_retry_delay = milliseconds{10'000};

/// What start-up came to.
enum class startup {
  /// The schema is current: start the pipeline.
  ready,
  /// A shutdown signal came first: exit 0 without starting anything.
  stopped,
  /// The schema cannot be applied (not a passing outage): exit 1.
  failed,
};

/// One connect-and-migrate attempt on a thread of its own, so that the main
/// thread can obey a signal while libpq blocks (connecting to a peer that
/// does not answer, or waiting for another daemon's migration lock).
struct migration_attempt {
  using outcome = std::pair<fault, migration_report>;

  /// Set once connected: what a signal interrupts, for the log line.
  std::atomic<bool> migrating{false};
  std::promise<outcome> done;
  std::future<outcome> result;

  static std::shared_ptr<migration_attempt> start(const db_settings& db) {
    auto attempt = std::make_shared<migration_attempt>();
    auto result = attempt->done.get_future();
    std::thread{[attempt, db] {
      fault f;
      migration_report report;
      try {
        auto conn = open_connection(db);
        attempt->migrating = true;
        f = migrate(*conn, report);
      } catch (...) {
        f = classify(std::current_exception());
      }
      attempt->done.set_value({std::move(f), report});
    }}.detach();
    attempt->result = std::move(result);
    return attempt;
  }
};

/// Applies the schema once the database answers; a container may start
/// before PostgreSQL does, or before it has created our role. A refusal is
/// said once per cause and then retried quietly with backoff. A shutdown
/// signal is obeyed at once, whatever the attempt in flight is doing.
startup migrate_when_ready(const db_settings& db) {
  doubling_delay retry_delay{milliseconds{500}, max_startup_retry_delay};
  log_once said;
  uint64_t attempts = 0;
  for (;;) {
    auto attempt = migration_attempt::start(db);
    while (attempt->result.wait_for(milliseconds{50}) !=
           std::future_status::ready) {
      if (auto sig = wait_for_shutdown_signal(milliseconds{0})) {
        spdlog::info("Received {} while {}; exiting", signal_name(sig),
                     attempt->migrating ? "migrating the schema"
                                        : "connecting to the database");
        // The attempt cannot be interrupted and holds nothing that the
        // server does not roll back when the connection goes: leave it.
        std::fflush(stdout);
        std::_Exit(0);
      }
    }
    auto [f, report] = attempt->result.get();
    ++attempts;
    if (!f) {
      if (said.recovered("database"))
        spdlog::info("Database reachable after {} failed attempts",
                     attempts - 1);
      if (report.from_version != report.to_version)
        spdlog::info("Schema migrated from version {} to {}",
                     report.from_version, report.to_version);
      for (const auto& note : report.notes)
        spdlog::info("Schema: {}", note);
      return startup::ready;
    }
    if (f.code != ec::database_unavailable) {
      spdlog::critical("Cannot apply the schema: {}", f.detail);
      return startup::failed;
    }
    metrics().db_unavailable++;
    auto delay = retry_delay.next();
    if (said.failed("database", f.detail))
      spdlog::warn("Database not reachable yet ({}); retrying quietly, every "
                   "{} s at most",
                   f.detail, max_startup_retry_delay.count() / 1000);
    else
      spdlog::debug("Database still not reachable (attempt {}); retrying in "
                    "{} ms",
                    attempts, delay.count());
    if (auto sig = wait_for_shutdown_signal(delay)) {
      spdlog::info("Received {} while waiting for the database; exiting",
                   signal_name(sig));
      return startup::stopped;
    }
  }
}

/// Opens a connection and brings the schema up to date, for the one-shot
/// commands; says why not on stderr and returns null on failure.
std::unique_ptr<pqxx::connection> open_migrated(const config& cfg,
                                                migration_report& report) {
  try {
    auto conn = open_connection(cfg.database());
    if (auto f = migrate(*conn, report)) {
      std::cerr << "backfilld: cannot apply the schema: " << f.detail << "\n";
      return nullptr;
    }
    return conn;
  } catch (...) {
    std::cerr << "backfilld: cannot connect to "
              << mask_secrets(cfg.database().url) << ": "
              << classify(std::current_exception()).detail << "\n";
    return nullptr;
  }
}

/// The assets `target` (a symbol, any case, or an id) names, as "SYMBOL
/// (asset ID)". An operator's typo must not look like "nothing failed".
std::vector<std::string> matching_assets(pqxx::connection_base& conn,
                                         const std::string& target) {
  pqxx::read_transaction txn{conn};
  auto rows = txn.exec_params("SELECT symbol, id FROM assets"
                              " WHERE upper(symbol) = upper($1)"
                              " OR id::text = $1 ORDER BY id",
                              target);
  std::vector<std::string> result;
  for (const auto& row : rows)
    result.push_back(row[0].as<std::string>() + " (asset " +
                     row[1].as<std::string>() + ")");
  return result;
}

/// The assets a one-shot command names; says why on stderr when none.
std::vector<asset_ref> resolve(pqxx::connection_base& conn,
                               const command_args& args) {
  if (args.id != 0) {
    auto found = asset_by_id(conn, args.id);
    if (found.empty())
      std::cerr << "backfilld: no asset has id " << args.id
                << " (it must be in the assets table)\n";
    return found;
  }
  auto found = assets_by_symbol(conn, args.symbol);
  if (found.empty())
    std::cerr << "backfilld: no asset matches " << args.symbol
              << " (give a symbol from the assets table, or --asset-id N)\n";
  return found;
}

/// The pipeline's settings for a one-shot command: the daemon's, said why
/// not on stderr. Its log shows only errors unless `log.level` was set: the
/// command prints what became of its jobs itself.
std::optional<pipeline_settings> one_shot_settings(const config& cfg) {
  auto settings = cfg.pipeline();
  if (!settings) {
    std::cerr << "backfilld: " << render(settings.error()) << "\n";
    return std::nullopt;
  }
  if (cfg.source_of("log.level") == "default")
    spdlog::set_level(spdlog::level::err);
  return std::move(*settings);
}

/// The frame of a one-shot command (`backfill`, `refresh`): its settings, a
/// migrated connection, then `choose` names the work (or returns an exit
/// code to stop early); any database error is said on stderr.
template <class Choose>
int run_one_shot_command(config& cfg, Choose choose) {
  auto settings = one_shot_settings(cfg);
  if (!settings)
    return 2;
  migration_report report;
  auto conn = open_migrated(cfg, report);
  if (!conn)
    return 1;
  try {
    one_shot_work work;
    if (auto rc = choose(*conn, work))
      return *rc;
    return run_one_shot(cfg, std::move(*settings), *conn, work);
  } catch (...) {
    std::cerr << "backfilld: " << classify(std::current_exception()).detail
              << "\n";
    return 1;
  }
}

} // namespace

int run_daemon(config& cfg) {
  auto cluster = cfg.cluster();
  if (!cluster) {
    spdlog::critical("Invalid configuration: {}", render(cluster.error()));
    return 2;
  }
  // Fetcher nodes and cores name themselves in every line.
  if (cluster->role != process_role::all)
    set_log_node_name(cluster->node_name);
  // A fetcher node has no database: none of what follows.
  if (cluster->role == process_role::fetcher)
    return run_fetcher_node(cfg, *cluster);
  cfg.load_cluster_modules(*cluster);
  auto settings = cfg.pipeline();
  if (!settings) {
    spdlog::critical("Invalid configuration: {}", render(settings.error()));
    return 2;
  }
  if (auto err = cfg.check_metrics()) {
    spdlog::critical("Invalid configuration: {}", render(err));
    return 2;
  }
  if (!cfg.config_file.empty())
    spdlog::info("Configuration from {}", cfg.config_file);
  const auto& yahoo = settings->limiter.providers.front();
  spdlog::info("backfilld starting: database {}, provider {}, {} requests/s "
               "(burst {}), {} fetches in flight, window {}, worker {}",
               settings->db.url.empty() ? "(libpq defaults)"
                                        : mask_secrets(settings->db.url),
               mask_secrets(settings->fetcher.base_url), yahoo.rate,
               yahoo.burst, settings->fetch_concurrency,
               settings->fetcher.window, settings->lease.worker);
  // Before the database: /healthz answers and /readyz says why it is not
  // ready while start-up waits for PostgreSQL. Destroyed last on return,
  // after the actor system.
  std::unique_ptr<metrics_server> endpoint;
  if (cfg.metrics_port != 0) {
    std::string error;
    endpoint = metrics_server::start(cfg.metrics_address, cfg.metrics_port,
                                     BACKFILLD_VERSION, error);
    if (!endpoint) {
      spdlog::critical("Cannot start the metrics endpoint: {}", error);
      return 1;
    }
    spdlog::info("Metrics on http://{}:{}/metrics (also /healthz, /readyz)",
                 cfg.metrics_address, cfg.metrics_port);
  }
  switch (migrate_when_ready(settings->db)) {
  case startup::ready:
    // Until a store or the listener says otherwise.
    metrics().database_reachable = true;
    if (endpoint)
      endpoint->sample_queue(
        settings->db,
        std::chrono::duration_cast<milliseconds>(cfg.metrics_sample_interval));
    break;
  case startup::stopped:
    return 0;
  case startup::failed:
    return 1;
  }
  // `backfilld status` reads each provider's state from the database.
  auto provider_state = provider_state_publisher::start(
    settings->db,
    std::chrono::duration_cast<milliseconds>(cfg.providers_state_interval),
    settings->lease.worker);
  // A signal that came while the last attempt finished: nothing runs yet.
  if (auto sig = wait_for_shutdown_signal(milliseconds{0})) {
    spdlog::info("Received {} before the pipeline started; exiting",
                 signal_name(sig));
    return 0;
  }
  caf::actor_system sys{cfg};
  auto make = production_roles(*settings);
  cluster_gate_actor gate;
  if (cluster->role == process_role::core) {
    gate = start_core(sys, *settings, *cluster, make);
    if (!gate)
      return 1;
  }
  auto sup = sys.spawn(supervisor, settings->supervision, std::move(make));
  foreground_plan plan;
  plan.stopped_line = "backfilld stopped";
  plan.ask_to_stop = [sup] {
    caf::anon_send(sup, atom::shutdown_v);
  };
  // The grace covers the fetches in flight; handing back the rest and the
  // tracker's flush come after it, bounded at 10 s each.
  plan.deadline = settings->supervision.shutdown_grace + milliseconds{30'000};
  auto rc = run_in_foreground(sys, sup.address(), plan);
  if (gate)
    caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
  return rc;
}

int run_health(const config& cfg) {
  if (auto err = cfg.check_metrics()) {
    std::cerr << "backfilld: " << render(err) << "\n";
    return 1;
  }
  return query_readiness(cfg.metrics_address, cfg.metrics_port);
}

int run_check_config(const config& cfg) {
  // The effective values help find the one a range error is about.
  std::cout << cfg.effective_text();
  if (auto err = cfg.validate()) {
    std::cerr << "backfilld: " << render(err) << "\n";
    return 1;
  }
  std::cout << "Configuration valid\n";
  return 0;
}

int run_migrate(config& cfg) {
  migration_report report;
  if (!open_migrated(cfg, report))
    return 1;
  std::cout << "Schema at version " << report.to_version << " (was "
            << report.from_version << ")\n";
  for (const auto& note : report.notes)
    std::cout << note << "\n";
  return 0;
}

int run_retry(config& cfg, const std::string& target) {
  migration_report report;
  auto conn = open_migrated(cfg, report);
  if (!conn)
    return 1;
  try {
    if (target == "--all-failed") {
      reactivate_assets(*conn, {}); // Inactive (delisted) assets too.
      auto revived = retry_failed(*conn, {});
      if (revived == 0)
        std::cout << "No failed jobs to retry\n";
      else
        std::cout << "Retrying " << revived << " failed job"
                  << (revived == 1 ? "" : "s") << "\n";
      return 0;
    }
    auto assets = matching_assets(*conn, target);
    if (assets.empty()) {
      std::cerr << "backfilld: no asset matches " << target
                << " (give a symbol from the assets table, or an asset id)\n";
      return 1;
    }
    if (reactivate_assets(*conn, target) > 0)
      std::cout << "Reactivated " << target << " (it had been inactive)\n";
    auto revived = retry_failed(*conn, target);
    if (revived == 0) {
      std::cout << "Nothing to retry: no failed jobs of " << assets.front();
      for (size_t i = 1; i < assets.size(); ++i)
        std::cout << ", " << assets[i];
      std::cout << "\n";
      return 0;
    }
    std::cout << "Retrying " << revived << " failed job"
              << (revived == 1 ? "" : "s") << " of " << target << "\n";
    return 0;
  } catch (...) {
    std::cerr << "backfilld: " << classify(std::current_exception()).detail
              << "\n";
    return 1;
  }
}

int run_status(config& cfg, const command_args& args) {
  migration_report report;
  auto conn = open_migrated(cfg, report);
  if (!conn)
    return 1;
  try {
    std::vector<asset_id> only;
    if (!args.symbol.empty() || args.id != 0) {
      auto assets = resolve(*conn, args);
      if (assets.empty())
        return 1;
      for (const auto& a : assets)
        only.push_back(a.id);
    }
    status_view_settings view;
    view.now = static_cast<int64_t>(std::time(nullptr));
    view.stale_after = static_cast<int32_t>(cfg.refresh_stale_after);
    auto status = read_status(*conn, only);
    status.providers = read_provider_states(*conn);
    // The fetcher nodes, for the whole daemon only (issue 13).
    std::vector<node_status> nodes;
    if (only.empty())
      nodes = read_nodes(*conn);
    if (args.json)
      std::cout << with_nodes_json(status_json(status, view), nodes);
    else
      std::cout << status_table(status, view) << nodes_table(nodes);
    return 0;
  } catch (...) {
    std::cerr << "backfilld: " << classify(std::current_exception()).detail
              << "\n";
    return 1;
  }
}

int run_backfill(config& cfg, const command_args& args) {
  return run_one_shot_command(
    cfg,
    [&](pqxx::connection_base& conn,
        one_shot_work& work) -> std::optional<int> {
      work.command = "backfill";
      work.kind = job_kind::backfill;
      work.assets = resolve(conn, args);
      if (work.assets.empty())
        return 1;
      if (work.assets.size() > 1) {
        std::cerr << "backfilld: " << args.symbol
                  << " names several assets (ids";
        for (const auto& a : work.assets)
          std::cerr << " " << a.id;
        std::cerr << "); pick one with --asset-id\n";
        return 1;
      }
      if (!args.range.empty()) {
        auto today = utc_day(static_cast<int64_t>(std::time(nullptr)));
        // "max": a day older than any listing, that PostgreSQL's date holds.
        work.want_from = std::max(range_start(args.range, today), -700'000);
      }
      return std::nullopt;
    });
}

int run_refresh(config& cfg, const command_args& args) {
  return run_one_shot_command(
    cfg,
    [&](pqxx::connection_base& conn,
        one_shot_work& work) -> std::optional<int> {
      work.command = "refresh";
      work.kind = job_kind::refresh;
      work.assets = args.all ? refreshable_assets(conn) : resolve(conn, args);
      if (!work.assets.empty())
        return std::nullopt;
      if (!args.all)
        return 1;
      std::cout << "Nothing to refresh: no tracked asset with prices is "
                   "active\n";
      return 0;
    });
}

} // namespace backfilld
