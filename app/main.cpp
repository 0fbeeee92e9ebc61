// Entry point: signals, configuration and the subcommand.

#include <csignal>
#include <initializer_list>
#include <iostream>
#include <string>
#include <vector>

#include <caf/config.hpp>
#include <curl/curl.h>
#include <pqxx/version.hxx>

#include "app/commands.hpp"
#include "app/config.hpp"
#include "app/signals.hpp"
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
  check-config             check the configuration and print it, each value
                           with where it came from (exit 0 valid, 1 not)
  health                   ask the running daemon's /readyz (exit 0 ready,
                           1 not ready or not reachable), for HEALTHCHECK
  help, --help             this text
  --version                versions of backfilld and its libraries

Options are set in the INI file (--config-file=PATH), the environment
(BACKFILL_GROUP_KEY, e.g. BACKFILL_DB_URL) or on the command line, in rising
precedence; an unknown key stops start-up. A secret can come from a file:
--db.url-file=/run/secrets/db_url. The ones most often tuned:
)";

constexpr const char* usage_footer =
  R"(
`backfilld --long-help` lists every option (also CAF's own);
configs/backfilld.ini documents each one.
)";

void print_help(std::ostream& out) {
  backfilld::config cfg;
  out << usage << cfg.help_text() << usage_footer;
}

void print_version(std::ostream& out) {
  auto curl = curl_version_info(CURLVERSION_NOW);
  out << "backfilld " << BACKFILLD_VERSION << "\n"
      << "CAF " << CAF_MAJOR_VERSION << "." << CAF_MINOR_VERSION << "."
      << CAF_PATCH_VERSION << "\n"
      << "libpqxx " << PQXX_VERSION << "\n"
      << "libcurl " << (curl != nullptr ? curl->version : "unknown") << "\n";
}

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
  // Before any thread exists: see app/signals.hpp.
  backfilld::block_shutdown_signals();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  command_line cli;
  if (!split(argc, argv, cli)) {
    print_help(std::cerr);
    return 2;
  }
  // Ours, not CAF's: its --help knows only its own global options.
  // --long-help still goes to CAF and lists everything.
  auto asks = [&](std::initializer_list<const char*> flags) {
    for (const auto& option : cli.options)
      for (auto flag : flags)
        if (option == flag)
          return true;
    return false;
  };
  if (cli.command == "help" || asks({"--help", "-h", "-?"})) {
    print_help(std::cout);
    return 0;
  }
  if (cli.command == "version" || asks({"--version"})) {
    print_version(std::cout);
    return 0;
  }
  // check-config answers "would it start?": 1 for no, like a failed check,
  // where the daemon itself exits 2 for a usage error.
  // So does health: a HEALTHCHECK knows only 0 and 1.
  auto check_only = cli.command == "check-config";
  auto one_for_no = check_only || cli.command == "health";
  backfilld::config cfg;
  if (auto err = cfg.load(cli.options)) {
    std::cerr << "backfilld: " << backfilld::render(err) << "\n";
    return one_for_no ? 1 : 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  if (check_only)
    return backfilld::run_check_config(cfg);
  if (cli.command == "health")
    return backfilld::run_health(cfg);
  if (auto err = cfg.check_log_level()) {
    std::cerr << "backfilld: " << backfilld::render(err) << "\n";
    return 2;
  }
  backfilld::setup_logging(cfg.log_level, cfg.log_format);
  if (cli.command == "run")
    return backfilld::run_daemon(cfg);
  if (cli.command == "migrate")
    return backfilld::run_migrate(cfg);
  if (cli.command == "retry" && !cli.target.empty())
    return backfilld::run_retry(cfg, cli.target);
  if (cli.command == "status")
    return backfilld::run_status(cfg);
  print_help(std::cerr);
  return 2;
}
