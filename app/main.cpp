// Entry point: signals, configuration and the subcommand.

#include <climits>
#include <csignal>
#include <cstdlib>
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
#include "provider/yahoo_chart.hpp"
#include "telemetry/log.hpp"

namespace {

constexpr const char* usage =
  R"(usage: backfilld [COMMAND] [--group.key=value ...]

commands:
  run                      run the daemon in the foreground (the default)
    --role=core            ... and publish the gate for fetcher nodes
    --role=fetcher --core=HOST:PORT
                           run a fetcher node (no database) for that core
  migrate                  apply the schema and exit
  retry SYMBOL|ASSET_ID    retry the failed jobs of one asset
  retry --all-failed       retry every failed job
  status [SYMBOL|--asset-id N] [--json]
                           the tracked assets (rows, days, last update,
                           job, stale/inactive, last error) and the jobs by
                           state; --json for scripts
  backfill SYMBOL|--asset-id N [--range 5y]
                           fetch one asset's history now and exit (0 done,
                           1 failed, with the reason)
  refresh --all|SYMBOL|--asset-id N
                           bring these assets up to date now and exit
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

/// The command line split into subcommand, its arguments, and CAF options.
struct command_line {
  std::string command = "run";
  /// `retry`'s argument.
  std::string target;
  /// The arguments of `backfill`, `refresh` and `status`.
  backfilld::command_args args;
  /// What is wrong with them, for a usage error (exit 2).
  std::string error;
  std::vector<std::string> options;
};

/// How each one-shot command is called, for its usage errors.
const char* usage_of(const std::string& command) {
  if (command == "backfill")
    return "backfilld backfill SYMBOL|--asset-id N [--range 5y]";
  if (command == "refresh")
    return "backfilld refresh --all|SYMBOL|--asset-id N";
  return "backfilld status [SYMBOL|--asset-id N] [--json]";
}

/// Reads one argument of `backfill`, `refresh` or `status` at `argv[i]`
/// (advancing `i` past a value given apart: `--range 5y`). False when it is
/// none of theirs (a CAF option).
bool take_argument(int argc, char** argv, int& i, command_line& out) {
  std::string arg = argv[i];
  auto& a = out.args;
  auto fail = [&](std::string why) {
    if (out.error.empty())
      out.error = std::move(why);
    return true;
  };
  // "--name VALUE" or "--name=VALUE".
  auto value_of = [&](const std::string& name, std::string& value) {
    if (arg == name) {
      if (i + 1 >= argc)
        return fail(name + " needs a value");
      value = argv[++i];
      return true;
    }
    if (arg.rfind(name + "=", 0) == 0) {
      value = arg.substr(name.size() + 1);
      return true;
    }
    return false;
  };
  std::string value;
  if (value_of("--asset-id", value)) {
    char* end = nullptr;
    auto id = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || id <= 0 || id > INT32_MAX)
      return fail("--asset-id wants a positive asset id, not " + value);
    a.id = static_cast<backfilld::asset_id>(id);
    return true;
  }
  if (value_of("--range", value)) {
    if (out.command != "backfill")
      return fail("--range is only for backfill");
    if (!backfilld::valid_range(value))
      return fail("--range " + value +
                  " is not a Yahoo range (1mo, 3mo, 6mo,"
                  " 1y, 2y, 5y, 10y, ytd, max)");
    a.range = value;
    return true;
  }
  if (arg == "--all") {
    if (out.command != "refresh")
      return fail("--all is only for refresh");
    a.all = true;
    return true;
  }
  if (arg == "--json") {
    if (out.command != "status")
      return fail("--json is only for status");
    a.json = true;
    return true;
  }
  if (arg[0] == '-')
    return false;
  if (!a.symbol.empty())
    return fail("unexpected argument " + arg + " (one symbol at a time)");
  a.symbol = arg;
  return true;
}

/// Which assets the command names: exactly one way for backfill and
/// refresh, at most one for status.
void check_target(command_line& out) {
  const auto& a = out.args;
  auto ways =
    (a.symbol.empty() ? 0 : 1) + (a.id == 0 ? 0 : 1) + (a.all ? 1 : 0);
  if (ways > 1 && out.error.empty())
    out.error = "name the assets one way only";
  else if (ways == 0 && out.command != "status" && out.error.empty())
    out.error = "which asset?";
}

bool split(int argc, char** argv, command_line& out) {
  int i = 1;
  if (i < argc && argv[i][0] != '-')
    out.command = argv[i++];
  auto one_shot = out.command == "backfill" || out.command == "refresh" ||
                  out.command == "status";
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (out.command == "retry" && (arg == "--all-failed" || arg[0] != '-')) {
      if (!out.target.empty())
        return false;
      out.target = arg;
    } else if (!(one_shot && take_argument(argc, argv, i, out))) {
      out.options.push_back(std::move(arg));
    }
  }
  if (one_shot)
    check_target(out);
  // Short forms of the cluster options the issue names (issue 13).
  for (auto& option : out.options)
    for (const char* key : {"role", "core"})
      if (option.rfind(std::string{"--"} + key + "=", 0) == 0)
        option = "--cluster." + option.substr(2);
  return true;
}

} // namespace

int main(int argc, char** argv) {
  // A peer closing a socket must be an error code, not a dead process.
  std::signal(SIGPIPE, SIG_IGN);
  // Before any thread exists: see app/signals.hpp.
  backfilld::block_shutdown_signals();
  // libpq's default gssencmode=prefer has every connection probe for a
  // Kerberos ticket, which initialises Kerberos: ~0.7 MB of idle
  // memory for a transport that self-hosted databases rarely offer (GSSAPI
  // authentication is unaffected). A gssencmode in db.url, or PGGSSENCMODE
  // set by the user, still wins: this only changes the default.
  setenv("PGGSSENCMODE", "disable", 0);
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
  if (!cli.error.empty() && !asks({"--help", "-h", "-?"})) {
    std::cerr << "backfilld: " << cli.error
              << "\nusage: " << usage_of(cli.command) << "\n";
    return 2;
  }
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
    return backfilld::run_status(cfg, cli.args);
  if (cli.command == "backfill")
    return backfilld::run_backfill(cfg, cli.args);
  if (cli.command == "refresh")
    return backfilld::run_refresh(cfg, cli.args);
  print_help(std::cerr);
  return 2;
}
