// backfilld's configuration: every tunable, with CAF's INI file and
// `--group.key=value` command line.
//
// Precedence: defaults < INI file < environment < command line. The file is
// `--config-file=PATH`, else $BACKFILL_CONFIG, else
// /etc/backfilld/backfilld.ini when it exists. configs/backfilld.ini documents
// every key.

#pragma once

#include <map>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>
#include <caf/timespan.hpp>

#include "app/cluster.hpp"
#include "app/pipeline.hpp"

namespace backfilld {

class config : public caf::actor_system_config {
 public:
  config();

  /// Parses the INI file, the environment and `args` (the command line
  /// without the program name and subcommand), in rising precedence. An
  /// unknown key or a value of the wrong type anywhere is an error that
  /// names it, its source and the closest valid key.
  caf::error load(std::vector<std::string> args);

  /// The settings the pipeline runs with; `invalid_config` names the first
  /// bad value and where it came from.
  caf::expected<pipeline_settings> pipeline() const;

  /// Everything `run` checks before it starts: what `pipeline` checks and
  /// the log level.
  caf::error validate() const;

  /// `log.level` names a level spdlog knows; `log.format` is text or json.
  caf::error check_log_level() const;

  /// Where option `key` ("fetch.window") came from: "default", "file PATH",
  /// "environment VAR", "command line" or "secret file PATH".
  std::string source_of(const std::string& key) const;

  /// One line per option, `key = value   (source)`, secrets masked: ours
  /// all, CAF's when set.
  std::string effective_text() const;

  /// The options an operator tunes, grouped, with their descriptions and
  /// current values (the defaults, unless already loaded), for `--help`.
  std::string help_text() const;

  /// metrics.port is 0 (off) or a TCP port, metrics.address is set and
  /// metrics.sample-interval is at least a second.
  caf::error check_metrics() const;

  /// The database settings alone (for the one-shot subcommands).
  db_settings database() const;

  /// The role and the fetcher nodes' settings (app/config_cluster.cpp);
  /// `invalid_config` names the first bad value.
  caf::expected<cluster_settings> cluster() const;

  /// Loads the middleman (and the OpenSSL module when `cluster.tls`) with
  /// their options, for the core and fetcher roles; before the actor system
  /// is made.
  void load_cluster_modules(const cluster_settings& s);

  // -- options, bound by reference to CAF's option set ------------------------

  std::string db_url;
  std::string db_url_file;
  caf::timespan db_connect_timeout;
  caf::timespan db_statement_timeout;
  caf::timespan db_keepalive_idle;
  caf::timespan db_keepalive_interval;
  int64_t db_keepalive_count;
  caf::timespan db_tcp_user_timeout;
  caf::timespan db_stall_timeout;

  std::string yahoo_base_url;
  double yahoo_requests_per_second;
  double yahoo_burst;
  int64_t yahoo_concurrency;
  std::string yahoo_user_agent;
  caf::timespan yahoo_connect_timeout;
  caf::timespan yahoo_timeout;
  int64_t yahoo_max_response_bytes;
  std::string yahoo_ca_file;
  caf::timespan yahoo_throttle_pause;

  std::vector<std::string> providers_stock;
  std::vector<std::string> providers_etf;
  std::vector<std::string> providers_crypto;
  std::vector<std::string> providers_fx;
  std::string frankfurter_base_url;
  double frankfurter_requests_per_second;
  double frankfurter_burst;
  int64_t frankfurter_concurrency;
  std::string coingecko_base_url;
  double coingecko_requests_per_second;
  double coingecko_burst;
  int64_t coingecko_concurrency;
  std::string coingecko_api_key;
  std::string coingecko_api_key_file;
  std::vector<std::string> coingecko_ids;
  std::string tiingo_base_url;
  double tiingo_requests_per_second;
  double tiingo_burst;
  int64_t tiingo_concurrency;
  std::string tiingo_api_key;
  std::string tiingo_api_key_file;
  int64_t breaker_failures;
  caf::timespan breaker_cool_down;
  int64_t breaker_successes;

  int64_t fetch_concurrency;
  int64_t fetch_window;

  std::string history_range;

  caf::timespan refresh_interval;
  caf::timespan refresh_after_close;
  int64_t refresh_overlap;
  int64_t refresh_gap_days;
  int64_t refresh_delisted_after;
  int64_t refresh_stale_after;
  int64_t refresh_batch;
  bool outliers_enabled;
  double outliers_factor;
  double outliers_minor_unit_tolerance;

  caf::timespan queue_poll_interval;
  caf::timespan queue_lease;
  caf::timespan queue_heartbeat_interval;
  caf::timespan queue_catch_up_interval;
  caf::timespan queue_full_catch_up_interval;
  caf::timespan queue_prune_after;
  int64_t queue_max_sightings;

  caf::timespan retry_base;
  double retry_factor;
  caf::timespan retry_cap;
  int64_t retry_max_attempts;
  caf::timespan retry_revive_after;

  caf::timespan listener_poll_interval;
  caf::timespan listener_ping_interval;
  caf::timespan listener_reconnect_min;
  caf::timespan listener_reconnect_max;

  int64_t supervisor_max_restarts;
  caf::timespan supervisor_restart_window;
  caf::timespan supervisor_restart_delay;

  caf::timespan shutdown_grace;

  std::string log_level;
  std::string log_format;
  caf::timespan log_summary_interval;

  std::string metrics_address;
  int64_t metrics_port;
  caf::timespan metrics_sample_interval;

  // -- provider state, per-asset source, per-provider pauses -----------------
  /// `providers.state-interval`: how often the daemon records each
  /// provider's state for `backfilld status`.
  caf::timespan providers_state_interval;
  /// `providers.source-column`: the `assets` column that names a provider
  /// for one asset (absent column: no overrides).
  std::string providers_source_column;
  /// `<provider>.throttle-pause` of the providers besides Yahoo.
  caf::timespan frankfurter_throttle_pause;
  caf::timespan coingecko_throttle_pause;
  caf::timespan tiingo_throttle_pause;
  // -- fetcher nodes (issue 13; app/config_cluster.cpp) -----------------------

  std::string cluster_role = "all";
  std::string cluster_core;
  std::string cluster_address = "127.0.0.1";
  int64_t cluster_port = 4270;
  std::string cluster_node_name;
  caf::timespan cluster_heartbeat_interval{std::chrono::seconds{2}};
  caf::timespan cluster_heartbeat_timeout{std::chrono::seconds{10}};
  caf::timespan cluster_reconnect_max{std::chrono::seconds{30}};
  double cluster_requests_per_second = 0;
  bool cluster_tls = false;
  std::string cluster_certificate;
  std::string cluster_key;
  std::string cluster_key_passphrase;
  std::string cluster_cafile;
  // -- group commit and lean idle (perf11) ------------------------------------

  /// `writer.batch-max`: series at most in one group commit.
  int64_t writer_batch_max = 64;
  /// `writer.connections`: database connections the writer stores through.
  int64_t writer_connections = 2;

  /// The INI file actually read (empty when none).
  std::string config_file;

 private:
  /// Declares the `cluster.*` options (app/config_cluster.cpp).
  void add_cluster_options();

  /// Where each option an operator set came from (see `source_of`).
  std::map<std::string, std::string> sources_;

  /// Options before this index are CAF's own.
  size_t own_options_begin_ = 0;
};

} // namespace backfilld
