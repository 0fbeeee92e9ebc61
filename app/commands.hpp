// backfilld's subcommands. Each returns the process exit code.

#pragma once

#include <string>

#include "app/config.hpp"
#include "messages/types.hpp"

namespace backfilld {

/// `backfilld` (or `backfilld run`): migrate, then run the pipeline in the
/// foreground until SIGTERM or SIGINT.
int run_daemon(config& cfg);

/// `backfilld migrate`: bring the schema up to date and exit.
int run_migrate(config& cfg);

/// `backfilld retry SYMBOL|ID` or `backfilld retry --all-failed`: revive
/// failed jobs so that the running daemon tries them again.
int run_retry(config& cfg, const std::string& target);

/// Which assets a one-shot command is about, as the command line named
/// them: a symbol, `--asset-id N`, or `--all`; and its other flags.
struct command_args {
  std::string symbol;
  /// 0 when not given.
  asset_id id = 0;
  bool all = false;
  /// `--range` (a Yahoo range name), empty when not given.
  std::string range;
  bool json = false;
};

/// `backfilld status [SYMBOL|--asset-id N] [--json]`: the tracked assets
/// (rows, days, last update, source, job, flags, last error) and the jobs by
/// kind and state; 1 when the database cannot be read or nothing matches.
int run_status(config& cfg, const command_args& args);

/// `backfilld backfill SYMBOL|--asset-id N [--range 5y]`: one asset now
/// through the production pipeline, then exit (see app/one_shot.hpp); 0 when
/// its job is done, 1 with the reason otherwise.
int run_backfill(config& cfg, const command_args& args);

/// `backfilld refresh --all|SYMBOL|--asset-id N`: bring these assets up to
/// date now, then exit; 0 when every job is done.
int run_refresh(config& cfg, const command_args& args);

/// `backfilld check-config`: validates as `run` does and prints every
/// option with its value and source, secrets masked; 0 when valid, else 1.
int run_check_config(const config& cfg);

/// `backfilld health`: asks the running daemon's /readyz; 0 when ready, 1
/// (with the reason) when not or when it cannot be reached.
int run_health(const config& cfg);

} // namespace backfilld
