// backfilld's subcommands. Each returns the process exit code.

#pragma once

#include <string>

#include "app/config.hpp"

namespace backfilld {

/// `backfilld` (or `backfilld run`): migrate, then run the pipeline in the
/// foreground until SIGTERM or SIGINT.
int run_daemon(config& cfg);

/// `backfilld migrate`: bring the schema up to date and exit.
int run_migrate(config& cfg);

/// `backfilld retry SYMBOL|ID` or `backfilld retry --all-failed`: revive
/// failed jobs so that the running daemon tries them again.
int run_retry(config& cfg, const std::string& target);

/// `backfilld status`: jobs by state, and why the failed ones failed.
int run_status(config& cfg);

/// `backfilld check-config`: validates as `run` does and prints every
/// option with its value and source, secrets masked; 0 when valid, else 1.
int run_check_config(const config& cfg);

/// `backfilld health`: asks the running daemon's /readyz; 0 when ready, 1
/// (with the reason) when not or when it cannot be reached.
int run_health(const config& cfg);

} // namespace backfilld
