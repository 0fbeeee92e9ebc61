#include "app/commands.hpp"

#include <csignal>
#include <ctime>
#include <iostream>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>
#include <pqxx/pqxx>

#include "app/pipeline.hpp"
#include "db/connection.hpp"
#include "db/job_queries.hpp"
#include "db/schema.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using std::chrono::milliseconds;

/// Waits up to `timeout` for SIGTERM or SIGINT (blocked in every thread by
/// main); returns the signal or 0.
int wait_for_signal(milliseconds timeout) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  timespec ts;
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1'000'000);
  auto sig = sigtimedwait(&signals, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

const char* signal_name(int sig) {
  return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "a signal";
}

/// Applies the schema once the database answers; a container may start
/// before PostgreSQL does. Returns 0 to go on, or the exit code.
int migrate_when_ready(const db_settings& db) {
  auto delay = milliseconds{500};
  for (;;) {
    fault f;
    migration_report report;
    try {
      auto conn = open_connection(db);
      f = migrate(*conn, report);
    } catch (...) {
      f = classify(std::current_exception());
    }
    if (!f) {
      if (report.from_version != report.to_version)
        spdlog::info("Schema migrated from version {} to {}",
                     report.from_version, report.to_version);
      return 0;
    }
    if (f.code != ec::database_unavailable) {
      spdlog::critical("Cannot apply the schema: {}", f.detail);
      return 1;
    }
    spdlog::warn("Database not reachable yet ({}); retrying in {} ms", f.detail,
                 delay.count());
    if (auto sig = wait_for_signal(delay)) {
      spdlog::info("Received {} while waiting for the database; exiting",
                   signal_name(sig));
      return 0;
    }
    delay = std::min(delay * 2, milliseconds{10'000});
  }
}

/// Runs until a signal asks to stop and the supervisor has drained the
/// pipeline, or until the supervisor gives up.
int await_shutdown(caf::actor_system& sys, const supervisor_actor& sup,
                   milliseconds grace) {
  caf::scoped_actor self{sys};
  self->monitor(sup);
  bool stopping = false;
  for (;;) {
    bool down = false;
    caf::error reason;
    self->receive(
      [&](caf::down_msg& dm) {
        down = true;
        reason = std::move(dm.reason);
      },
      caf::after(milliseconds{0}) >> [] {});
    if (down) {
      // Anything but a requested stop is a failure the container's restart
      // policy should see.
      auto clean = !reason || reason == caf::exit_reason::normal ||
                   reason == caf::exit_reason::user_shutdown;
      auto rc = clean ? 0 : 1;
      if (rc != 0)
        spdlog::critical("Exiting: {}", render(reason));
      else
        spdlog::info("backfilld stopped");
      // Everything that must be kept is in the database now. A worker still
      // blocked in a transfer (a hung provider) must not hold up the exit.
      std::thread{[rc] {
        std::this_thread::sleep_for(milliseconds{2'000});
        std::_Exit(rc);
      }}.detach();
      return rc;
    }
    auto sig = wait_for_signal(milliseconds{100});
    if (sig == 0)
      continue;
    if (stopping) {
      // The operator insists; leases and catch-up recover what was in hand.
      spdlog::warn("Received {} again; exiting now", signal_name(sig));
      std::_Exit(1);
    }
    stopping = true;
    spdlog::info("Received {}; draining", signal_name(sig));
    self->send(sup, atom::shutdown_v);
    // Whatever hangs past the grace period and the bounded drain steps
    // after it (10 s each) must not keep the container from stopping.
    std::thread{[grace] {
      std::this_thread::sleep_for(grace + milliseconds{30'000});
      spdlog::critical("Shutdown overran the grace period; exiting");
      std::_Exit(1);
    }}.detach();
  }
}

/// Opens a connection and brings the schema up to date for a one-shot
/// command; prints why not on failure.
std::unique_ptr<pqxx::connection> connect_and_migrate(const config& cfg) {
  try {
    auto conn = open_connection(cfg.database());
    migration_report report;
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

} // namespace

int run_daemon(config& cfg) {
  auto settings = cfg.pipeline();
  if (!settings) {
    spdlog::critical("Invalid configuration: {}", render(settings.error()));
    return 2;
  }
  if (!cfg.config_file.empty())
    spdlog::info("Configuration from {}", cfg.config_file);
  spdlog::info("backfilld starting: database {}, provider {}, {} requests/s "
               "(burst {}), {} fetches in flight, window {}, worker {}",
               settings->db.url.empty() ? "(libpq defaults)"
                                        : mask_secrets(settings->db.url),
               settings->fetcher.base_url, settings->limiter.rate,
               settings->limiter.burst, settings->fetch_concurrency,
               settings->fetcher.window, settings->lease.worker);
  if (auto rc = migrate_when_ready(settings->db); rc != 0)
    return rc;
  caf::actor_system sys{cfg};
  auto sup = spawn_supervisor(sys, *settings);
  return await_shutdown(sys, sup, settings->supervision.shutdown_grace);
}

int run_migrate(config& cfg) {
  try {
    auto conn = open_connection(cfg.database());
    migration_report report;
    if (auto f = migrate(*conn, report)) {
      std::cerr << "backfilld: cannot apply the schema: " << f.detail << "\n";
      return 1;
    }
    std::cout << "Schema at version " << report.to_version << " (was "
              << report.from_version << ")\n";
    return 0;
  } catch (...) {
    std::cerr << "backfilld: cannot connect to "
              << mask_secrets(cfg.database().url) << ": "
              << classify(std::current_exception()).detail << "\n";
    return 1;
  }
}

int run_retry(config& cfg, const std::string& target) {
  auto conn = connect_and_migrate(cfg);
  if (!conn)
    return 1;
  try {
    auto symbol = target == "--all-failed" ? std::string{} : target;
    auto revived = retry_failed(*conn, symbol);
    std::cout << "Retrying " << revived << " failed job"
              << (revived == 1 ? "" : "s")
              << (symbol.empty() ? "" : " of " + symbol) << "\n";
    return 0;
  } catch (...) {
    std::cerr << "backfilld: " << classify(std::current_exception()).detail
              << "\n";
    return 1;
  }
}

int run_status(config& cfg) {
  auto conn = connect_and_migrate(cfg);
  if (!conn)
    return 1;
  try {
    std::cout << "Jobs by kind and state:\n";
    for (const auto& c : count_jobs(*conn))
      std::cout << "  " << c.kind << " " << c.state << ": " << c.jobs << "\n";
    auto failed = list_failed_jobs(*conn, 50);
    if (!failed.empty())
      std::cout << "Failed jobs (newest first; `backfilld retry SYMBOL`):\n";
    for (const auto& f : failed)
      std::cout << "  " << f.symbol << " (asset " << f.asset << ", " << f.kind
                << ", " << f.attempts << " attempts, " << f.finished_at
                << "): " << f.last_error << "\n";
    return 0;
  } catch (...) {
    std::cerr << "backfilld: " << classify(std::current_exception()).detail
              << "\n";
    return 1;
  }
}

} // namespace backfilld
