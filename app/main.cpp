// Entry point: signals, configuration and the subcommand.

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include <curl/curl.h>

#include "app/commands.hpp"
#include "app/config.hpp"
#include "messages/error.hpp"
#include "telemetry/log.hpp"

namespace {

constexpr const char* usage =
  R"(usage: backfilld [COMMAND] [--group.key=value ...]

commands:
  run                      run the daemon in the foreground (the default)
  migrate                  apply the schema and exit
  retry SYMBOL|ASSET_ID    retry the failed jobs of one asset
  retry --all-failed       retry every failed job
  status                   show jobs by state and why failed ones failed

Options are set in the INI file (--config-file=PATH), the environment
(BACKFILL_DB_URL, BACKFILL_YAHOO_BASE_URL, BACKFILL_LOG_LEVEL) or on the
command line; `backfilld --help` lists them all.
)";

/// The command line split into subcommand, its argument, and CAF options.
struct command_line {
  std::string command = "run";
  std::string target;
  std::vector<std::string> options;
};

bool split(int argc, char** argv, command_line& out) {
  int i = 1;
  if (i < argc && argv[i][0] != '-')
    out.command = argv[i++];
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (out.command == "retry" && (arg == "--all-failed" || arg[0] != '-')) {
      if (!out.target.empty())
        return false;
      out.target = arg;
    } else {
      out.options.push_back(std::move(arg));
    }
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  // A peer closing a socket must be an error code, not a dead process.
  std::signal(SIGPIPE, SIG_IGN);
  // Block the shutdown signals before any thread exists, so that every
  // thread inherits the mask and only the main thread's sigtimedwait sees
  // them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  command_line cli;
  if (!split(argc, argv, cli)) {
    std::cerr << usage;
    return 2;
  }
  if (cli.command == "help") {
    std::cout << usage;
    return 0;
  }
  backfilld::config cfg;
  if (auto err = cfg.load(cli.options)) {
    std::cerr << "backfilld: " << backfilld::render(err) << "\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  if (!backfilld::setup_logging(cfg.log_level)) {
    std::cerr << "backfilld: unknown log.level " << cfg.log_level << "\n";
    return 2;
  }
  if (cli.command == "run")
    return backfilld::run_daemon(cfg);
  if (cli.command == "migrate")
    return backfilld::run_migrate(cfg);
  if (cli.command == "retry" && !cli.target.empty())
    return backfilld::run_retry(cfg, cli.target);
  if (cli.command == "status")
    return backfilld::run_status(cfg);
  std::cerr << usage;
  return 2;
}
