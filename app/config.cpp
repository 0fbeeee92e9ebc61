#include "app/config.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <tuple>

#include <caf/atom.hpp>
#include <caf/settings.hpp>
#include <spdlog/common.h>

#include "app/config_check.hpp"
#include "db/connection.hpp"
#include "messages/error.hpp"
#include "provider/http_client.hpp"
#include "provider/provider.hpp"
#include "provider/yahoo_chart.hpp"

namespace backfilld {

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* default_config_file = "/etc/backfilld/backfilld.ini";

/// A browser's string: Yahoo answers obvious bots with 429s.
constexpr const char* browser_user_agent =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
  "Chrome/131.0.0.0 Safari/537.36";

std::string config_file_from(const std::vector<std::string>& args) {
  constexpr std::string_view flag = "--config-file=";
  for (const auto& arg : args)
    if (arg.rfind(flag, 0) == 0)
      return arg.substr(flag.size());
  if (auto path = std::getenv("BACKFILL_CONFIG"))
    return path;
  if (std::ifstream{default_config_file})
    return default_config_file;
  return {};
}

milliseconds ms(caf::timespan x) {
  return std::chrono::duration_cast<milliseconds>(x);
}

seconds secs(caf::timespan x) {
  return std::chrono::duration_cast<seconds>(x);
}

caf::error invalid(const std::string& what) {
  return make_error(ec::invalid_config, what);
}

} // namespace

config::config()
  : db_connect_timeout(5s),
    db_statement_timeout(60s),
    db_keepalive_idle(30s),
    db_keepalive_interval(10s),
    db_keepalive_count(3),
    db_tcp_user_timeout(30s),
    db_stall_timeout(90s),
    yahoo_base_url("https://query1.finance.yahoo.com"),
    yahoo_requests_per_second(2.0),
    yahoo_burst(5.0),
    yahoo_concurrency(4),
    yahoo_user_agent(browser_user_agent),
    yahoo_connect_timeout(5s),
    yahoo_timeout(30s),
    yahoo_max_response_bytes(8 * 1024 * 1024),
    yahoo_throttle_pause(60s),
    providers_stock{"yahoo", "tiingo"},
    providers_etf{"yahoo", "tiingo"},
    providers_crypto{"yahoo", "coingecko"},
    providers_fx{"yahoo", "frankfurter"},
    frankfurter_base_url("https://api.frankfurter.dev"),
    // Each provider's published (or, without one, polite) limit: see
    // provider/PROVIDERS.md.
    frankfurter_requests_per_second(1.0),
    frankfurter_burst(1.0),
    frankfurter_concurrency(1),
    coingecko_base_url("https://api.coingecko.com"),
    coingecko_requests_per_second(0.2),
    coingecko_burst(1.0),
    coingecko_concurrency(1),
    tiingo_base_url("https://api.tiingo.com"),
    // Just under the free plan's 50 requests an hour.
    tiingo_requests_per_second(0.0138),
    tiingo_burst(3.0),
    tiingo_concurrency(1),
    breaker_failures(5),
    breaker_cool_down(60s),
    breaker_successes(2),
    fetch_concurrency(4),
    fetch_window(16),
    history_range("1y"),
    refresh_interval(6h),
    refresh_after_close(30min),
    refresh_overlap(5),
    refresh_gap_days(3),
    refresh_delisted_after(10),
    refresh_stale_after(3),
    refresh_batch(500),
    outliers_enabled(true),
    outliers_factor(3.0),
    outliers_minor_unit_tolerance(0.2),
    queue_poll_interval(2s),
    queue_lease(5min),
    queue_heartbeat_interval(1min),
    queue_catch_up_interval(5min),
    queue_full_catch_up_interval(24h),
    queue_prune_after(720h),
    queue_max_sightings(10'000),
    retry_base(30s),
    retry_factor(2.0),
    retry_cap(1h),
    retry_max_attempts(8),
    retry_revive_after(6h),
    listener_poll_interval(500ms),
    listener_ping_interval(30s),
    listener_reconnect_min(100ms),
    listener_reconnect_max(30s),
    supervisor_max_restarts(5),
    supervisor_restart_window(60s),
    supervisor_restart_delay(1s),
    shutdown_grace(30s),
    log_level("info"),
    log_format("text"),
    log_summary_interval(60s),
    metrics_address("127.0.0.1"),
    metrics_port(9464),
    metrics_sample_interval(15s) {
  own_options_begin_ = custom_options_.size();
  opt_group{custom_options_, "db"}
    .add(db_url, "url",
         "libpq URL or key=value string (empty: libpq's PG* variables)")
    .add(db_url_file, "url-file",
         "read db.url from this file (a mounted secret)")
    .add(db_connect_timeout, "connect-timeout", "bound on connecting")
    .add(db_statement_timeout, "statement-timeout",
         "server-side bound on every statement")
    .add(db_keepalive_idle, "keepalive-idle", "TCP keepalive idle time")
    .add(db_keepalive_interval, "keepalive-interval",
         "TCP keepalive probe interval")
    .add(db_keepalive_count, "keepalive-count", "TCP keepalive probes")
    .add(db_tcp_user_timeout, "tcp-user-timeout",
         "bound on unacknowledged sends (0: kernel default)")
    .add(db_stall_timeout, "stall-timeout",
         "a call blocked longer is cut (dead peer); above statement-timeout");
  opt_group{custom_options_, "yahoo"}
    .add(yahoo_base_url, "base-url", "provider base URL")
    .add(yahoo_requests_per_second, "requests-per-second",
         "average request rate, and the most in any second")
    .add(yahoo_burst, "burst", "requests allowed back to back")
    .add(yahoo_concurrency, "concurrency",
         "requests waiting for a grant or in flight at once")
    .add(yahoo_user_agent, "user-agent", "User-Agent header")
    .add(yahoo_connect_timeout, "connect-timeout", "bound on connecting")
    .add(yahoo_timeout, "timeout", "bound on a whole request")
    .add(yahoo_max_response_bytes, "max-response-bytes",
         "larger responses are refused")
    .add(yahoo_ca_file, "ca-file", "extra CA bundle (PEM) for TLS")
    .add(yahoo_throttle_pause, "throttle-pause",
         "pause after a 429 without Retry-After");
  opt_group{custom_options_, "providers"}
    .add(providers_stock, "stock", "providers for stocks, in order")
    .add(providers_etf, "etf", "providers for ETFs, in order")
    .add(providers_crypto, "crypto", "providers for crypto, in order")
    .add(providers_fx, "fx", "providers for currency pairs, in order");
  opt_group{custom_options_, "frankfurter"}
    .add(frankfurter_base_url, "base-url", "Frankfurter (FX) base URL")
    .add(frankfurter_requests_per_second, "requests-per-second",
         "average request rate, and the most in any second")
    .add(frankfurter_burst, "burst", "requests allowed back to back")
    .add(frankfurter_concurrency, "concurrency",
         "requests waiting for a grant or in flight at once");
  opt_group{custom_options_, "coingecko"}
    .add(coingecko_base_url, "base-url", "CoinGecko base URL")
    .add(coingecko_requests_per_second, "requests-per-second",
         "average request rate, and the most in any second")
    .add(coingecko_burst, "burst", "requests allowed back to back")
    .add(coingecko_concurrency, "concurrency",
         "requests waiting for a grant or in flight at once")
    .add(coingecko_api_key, "api-key", "optional demo key")
    .add(coingecko_api_key_file, "api-key-file",
         "read coingecko.api-key from this file")
    .add(coingecko_ids, "ids",
         "extra ticker=coin-id entries, e.g. [\"PEPE=pepe\"]");
  opt_group{custom_options_, "tiingo"}
    .add(tiingo_base_url, "base-url", "Tiingo base URL")
    .add(tiingo_requests_per_second, "requests-per-second",
         "average request rate, and the most in any second")
    .add(tiingo_burst, "burst", "requests allowed back to back")
    .add(tiingo_concurrency, "concurrency",
         "requests waiting for a grant or in flight at once")
    .add(tiingo_api_key, "api-key", "API key (Tiingo is off without one)")
    .add(tiingo_api_key_file, "api-key-file",
         "read tiingo.api-key from this file");
  opt_group{custom_options_, "breaker"}
    .add(breaker_failures, "failures",
         "consecutive failures that open a provider's breaker")
    .add(breaker_cool_down, "cool-down",
         "an open breaker skips its provider this long, then probes")
    .add(breaker_successes, "successes",
         "good probes in a row that close a breaker");
  opt_group{custom_options_, "fetch"}
    .add(fetch_concurrency, "concurrency", "requests in flight at once")
    .add(fetch_window, "window", "claimed jobs held in memory at most");
  opt_group{custom_options_, "history"}.add(
    history_range, "range",
    "first backfill range: 1mo 3mo 6mo 1y 2y 5y 10y ytd max");
  opt_group{custom_options_, "refresh"}
    .add(refresh_interval, "interval",
         "refresh every tracked asset this often (0s: only after closes)")
    .add(refresh_after_close, "after-close",
         "daily refresh this long after each exchange's close, local time")
    .add(refresh_overlap, "overlap",
         "trading days before the last stored one a refresh asks again")
    .add(refresh_gap_days, "gap-days",
         "more missing weekdays than this in a history is a hole to fill")
    .add(refresh_delisted_after, "delisted-after",
         "days of \"no data\" after which an asset is marked inactive")
    .add(refresh_stale_after, "stale-after",
         "trading days without a new price before status calls it stale")
    .add(refresh_batch, "batch", "refresh jobs queued per transaction");
  opt_group{custom_options_, "outliers"}
    .add(outliers_enabled, "enabled",
         "hold back bad prints instead of storing them")
    .add(outliers_factor, "factor",
         "a close this many times off both neighbours is a spike")
    .add(outliers_minor_unit_tolerance, "minor-unit-tolerance",
         "how far from 100x a pence-for-pounds mix-up may be (relative)");
  opt_group{custom_options_, "queue"}
    .add(queue_poll_interval, "poll-interval",
         "look for due jobs this often while idle")
    .add(queue_lease, "lease", "a claimed job is reclaimed after this")
    .add(queue_heartbeat_interval, "heartbeat-interval",
         "extend leases of held jobs this often")
    .add(queue_catch_up_interval, "catch-up-interval",
         "scan transactions added since the last scan this often")
    .add(queue_full_catch_up_interval, "full-catch-up-interval",
         "scan every asset this often (and at start)")
    .add(queue_max_sightings, "max-sightings",
         "sightings buffered while the database is away")
    .add(queue_prune_after, "prune-after",
         "finished jobs are deleted after this (0s: never; the newest per "
         "asset stays)");
  opt_group{custom_options_, "retry"}
    .add(retry_base, "base", "first backoff")
    .add(retry_factor, "factor", "backoff growth per attempt")
    .add(retry_cap, "cap", "longest backoff")
    .add(retry_max_attempts, "max-attempts", "attempts before giving up")
    .add(retry_revive_after, "revive-after",
         "catch-up queues a job that ran out of attempts again after this");
  opt_group{custom_options_, "listener"}
    .add(listener_poll_interval, "poll-interval", "one wait for notifications")
    .add(listener_ping_interval, "ping-interval",
         "check the idle connection this often")
    .add(listener_reconnect_min, "reconnect-min", "first reconnect delay")
    .add(listener_reconnect_max, "reconnect-max", "longest reconnect delay");
  opt_group{custom_options_, "supervisor"}
    .add(supervisor_max_restarts, "max-restarts",
         "restarts of one role allowed within restart-window")
    .add(supervisor_restart_window, "restart-window",
         "window of the restart limit")
    .add(supervisor_restart_delay, "restart-delay",
         "pause before respawning a role");
  opt_group{custom_options_, "shutdown"}.add(
    shutdown_grace, "grace", "time in-flight jobs get on SIGTERM");
  opt_group{custom_options_, "log"}
    .add(log_level, "level", "trace debug info warn error critical")
    .add(log_format, "format",
         "text (readable lines) or json (one object "
         "per line)")
    .add(log_summary_interval, "summary-interval",
         "period of the summary line");
  opt_group{custom_options_, "metrics"}
    .add(metrics_address, "address",
         "address of the /metrics, /healthz and /readyz endpoint")
    .add(metrics_port, "port", "TCP port of that endpoint (0: off)")
    .add(metrics_sample_interval, "sample-interval",
         "count the queue's jobs in the database this often");
  // -- provider state, per-asset source, per-provider pauses ---------------
  providers_state_interval = 5s;
  providers_source_column = "data_source";
  frankfurter_throttle_pause = coingecko_throttle_pause =
    tiingo_throttle_pause = 60s;
  opt_group{custom_options_, "providers"}
    .add(providers_state_interval, "state-interval",
         "record each provider's state for `status` this often")
    .add(providers_source_column, "source-column",
         "assets column naming one asset's provider (empty: none)");
  opt_group{custom_options_, "frankfurter"}.add(
    frankfurter_throttle_pause, "throttle-pause",
    "pause after a 429 without Retry-After");
  opt_group{custom_options_, "coingecko"}.add(
    coingecko_throttle_pause, "throttle-pause",
    "pause after a 429 without Retry-After");
  opt_group{custom_options_, "tiingo"}.add(
    tiingo_throttle_pause, "throttle-pause",
    "pause after a 429 without Retry-After");
  add_cluster_options();
  // -- group commit and lean idle (perf11) ------------------------------------
  opt_group{custom_options_, "writer"}
    .add(writer_batch_max, "batch-max",
         "series at most in one transaction (group commit; 1: one per asset)")
    .add(writer_connections, "connections",
         "database connections the writer stores through, one batch each");
  // Lean idle: every blocking call has a thread of its own (the detached
  // stores and HTTP workers), so the scheduler's threads only run short
  // handlers; CAF's default of max(cores, 4) idles two of them on 2 cores.
  // `--scheduler.max-threads` still overrides this.
  set("scheduler.max-threads", 2);
  // Idle scheduler threads wait on a condition variable instead of polling:
  // CAF's default work stealing has an idle thread sleep 50 µs between
  // polls for a while and then 10 ms. Our handlers are short and messages
  // come one by one, so the threads were forever waking up: in a benchmark
  // of 2,000 new assets perf found a third of backfilld's CPU samples in
  // those 50 µs sleeps, and the shared queue took the daemon from 3.0 to
  // 1.3 CPU s per 1,000 assets (bench/README.md).
  // `--scheduler.policy=stealing` restores CAF's default.
  set("scheduler.policy", caf::atom("sharing"));
  // One constant identifier: the protocol version is checked when a node
  // joins, so that a refusal can say why (see messages/types.hpp).
  set("middleman.app-identifiers", std::vector<std::string>{"backfilld-1"});
  register_messages(*this);
}

caf::error config::load(std::vector<std::string> args) {
  namespace check = config_check;
  sources_.clear();
  if (auto err =
        check::check_arguments(custom_options_, args, "command line", sources_))
    return err;
  // Each option of ours has a variable, below the command line in rank.
  std::vector<std::string> variables;
  std::vector<std::string> layered;
  for (auto i = own_options_begin_; i < custom_options_.size(); ++i) {
    const auto& option = *(custom_options_.begin() + i);
    variables.push_back(check::env_variable(option));
    auto value = std::getenv(variables.back().c_str());
    if (value == nullptr || sources_.count(check::qualified_name(option)))
      continue;
    std::vector<std::string> arg{"--" + check::qualified_name(option) + "=" +
                                 value};
    if (auto err = check::check_arguments(
          custom_options_, arg, "environment " + variables.back(), sources_))
      return err;
    layered.push_back(std::move(arg.front()));
  }
  if (auto err = check::check_environment(variables))
    return err;
  config_file = config_file_from(args);
  if (!sources_.count("config-file") && std::getenv("BACKFILL_CONFIG"))
    sources_["config-file"] = "environment BACKFILL_CONFIG";
  if (!config_file.empty() && !std::ifstream{config_file})
    return invalid("cannot read config file " + config_file);
  if (!config_file.empty())
    if (auto err = check::check_file(custom_options_, config_file, sources_))
      return err;
  layered.insert(layered.end(), args.begin(), args.end());
  // CAF 0.17 reads a flag only bare: one with a value is taken out here and
  // applied after CAF's parse, in its rank above the file.
  std::vector<std::pair<const caf::config_option*, std::string>> flags;
  layered.erase(
    std::remove_if(layered.begin(), layered.end(),
                   [&](const std::string& arg) {
                     auto eq = arg.find('=');
                     auto option = custom_options_.cli_long_name_lookup(
                       arg.substr(2, eq == std::string::npos ? eq : eq - 2));
                     if (eq == std::string::npos || option == nullptr ||
                         !option->is_flag())
                       return false;
                     flags.emplace_back(option, arg.substr(eq + 1));
                     return true;
                   }),
    layered.end());
  // The file by stream: given a path, CAF would look for
  // caf-application.ini in the working directory when we have none.
  std::ifstream file{config_file};
  std::istringstream none;
  if (auto err =
        parse(std::move(layered),
              config_file.empty() ? static_cast<std::istream&>(none) : file))
    return err;
  for (const auto& [option, value] : flags)
    if (auto x = option->parse(value); !x)
      return std::move(x.error());
  return check::read_secret_files(custom_options_, sources_);
}

caf::error config::check_metrics() const {
  if (metrics_port < 0 || metrics_port > 65535)
    return invalid("metrics.port must be within 0..65535 (0: off), not " +
                   std::to_string(metrics_port) + " (" +
                   source_of("metrics.port") + ")");
  if (metrics_port != 0 && metrics_address.empty())
    return invalid("metrics.address must not be empty while metrics.port is "
                   "set (" +
                   source_of("metrics.address") + ")");
  if (metrics_sample_interval < std::chrono::seconds{1})
    return invalid("metrics.sample-interval must be at least 1s (" +
                   source_of("metrics.sample-interval") + ")");
  if (providers_state_interval < std::chrono::seconds{1})
    return invalid("providers.state-interval must be at least 1s (" +
                   source_of("providers.state-interval") + ")");
  return {};
}

db_settings config::database() const {
  db_settings db;
  db.url = db_url;
  db.connect_timeout = std::max(secs(db_connect_timeout), seconds{2});
  db.statement_timeout = ms(db_statement_timeout);
  db.keepalive_idle = std::max(secs(db_keepalive_idle), seconds{1});
  db.keepalive_interval = std::max(secs(db_keepalive_interval), seconds{1});
  db.keepalive_count = static_cast<int>(db_keepalive_count);
  db.tcp_user_timeout = ms(db_tcp_user_timeout);
  db.stall_timeout = ms(db_stall_timeout);
  return db;
}

caf::expected<pipeline_settings> config::pipeline() const {
  // "<key> <what is wrong> (<source>)": the operator knows where to look.
  auto bad = [this](const std::string& key, const std::string& what) {
    return invalid(key + " " + what + " (" + source_of(key) + ")");
  };
  auto num = [](auto x) {
    return config_check::show(caf::config_value{x});
  };
  // A negative count or duration means nothing here, and some become huge
  // once cast to the unsigned types downstream.
  for (auto i = custom_options_.begin() + own_options_begin_;
       i != custom_options_.end(); ++i) {
    auto value = i->get();
    if (!value)
      continue;
    auto span = caf::get_if<caf::timespan>(&*value);
    auto integer = caf::get_if<int64_t>(&*value);
    auto real = caf::get_if<double>(&*value);
    if ((span && span->count() < 0) || (integer && *integer < 0) ||
        (real && *real < 0))
      return bad(config_check::qualified_name(*i),
                 "must not be negative, not " + config_check::show(*value));
  }
  if (auto problem = base_url_problem(yahoo_base_url); !problem.empty())
    return bad("yahoo.base-url", yahoo_base_url + " " + problem);
  for (const auto& [key, url] :
       {std::pair{"frankfurter.base-url", &frankfurter_base_url},
        std::pair{"coingecko.base-url", &coingecko_base_url},
        std::pair{"tiingo.base-url", &tiingo_base_url}})
    if (auto problem = base_url_problem(*url); !problem.empty())
      return bad(key, *url + " " + problem);
  for (const auto& [key, chain] :
       {std::pair{"providers.stock", &providers_stock},
        std::pair{"providers.etf", &providers_etf},
        std::pair{"providers.crypto", &providers_crypto},
        std::pair{"providers.fx", &providers_fx}})
    for (const auto& name : *chain) {
      const auto& known = provider_names();
      if (std::find(known.begin(), known.end(), name) == known.end())
        return bad(key, "names " + name +
                          ", not a provider (yahoo, frankfurter, coingecko, "
                          "tiingo)");
    }
  coin_id_table extra_ids;
  for (const auto& entry : coingecko_ids) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size())
      return bad("coingecko.ids", "entry " + entry + " is not TICKER=coin-id");
    extra_ids[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  coin_id_table ids;
  if (auto f = backfilld::coingecko_ids(extra_ids, ids))
    return bad("coingecko.ids", f.detail);
  if (breaker_failures < 1)
    return bad("breaker.failures", "must be at least 1, not 0");
  if (breaker_successes < 1)
    return bad("breaker.successes", "must be at least 1, not 0");
  if (!valid_range(history_range))
    return bad("history.range", history_range + " is not a Yahoo range");
  // Every provider's bucket; its one-second window keeps this many grant
  // times, hence the upper bound.
  for (auto [name, rate, burst, concurrency] :
       {std::tuple{"yahoo", yahoo_requests_per_second, yahoo_burst,
                   yahoo_concurrency},
        std::tuple{"frankfurter", frankfurter_requests_per_second,
                   frankfurter_burst, frankfurter_concurrency},
        std::tuple{"coingecko", coingecko_requests_per_second, coingecko_burst,
                   coingecko_concurrency},
        std::tuple{"tiingo", tiingo_requests_per_second, tiingo_burst,
                   tiingo_concurrency}}) {
    auto prefix = std::string{name} + ".";
    if (!(rate > 0) || rate > 1000)
      return bad(prefix + "requests-per-second",
                 "must be within (0, 1000], not " + num(rate));
    if (!(burst >= 1))
      return bad(prefix + "burst", "must be at least 1, not " + num(burst));
    if (concurrency < 1 || concurrency > 64)
      return bad(prefix + "concurrency",
                 "must be within 1..64, not " + num(concurrency));
  }
  if (yahoo_max_response_bytes < 1)
    return bad("yahoo.max-response-bytes", "must be at least 1, not 0");
  // A core may leave all fetching to its nodes (fetch.concurrency=0).
  auto no_local_fetcher = fetch_concurrency == 0 && cluster_role == "core";
  if (!no_local_fetcher && (fetch_concurrency < 1 || fetch_concurrency > 64))
    return bad("fetch.concurrency",
               "must be within 1..64, not " + num(fetch_concurrency));
  if (fetch_window < fetch_concurrency)
    return bad("fetch.window", "must be at least fetch.concurrency (" +
                                 num(fetch_concurrency) + ", " +
                                 source_of("fetch.concurrency") + "), not " +
                                 num(fetch_window));
  if (outliers_factor <= 1)
    return bad("outliers.factor",
               "must be above 1, not " + num(outliers_factor));
  if (outliers_minor_unit_tolerance >= 0.5)
    return bad("outliers.minor-unit-tolerance",
               "must be under 0.5, not " + num(outliers_minor_unit_tolerance));
  if (retry_max_attempts < 1)
    return bad("retry.max-attempts", "must be at least 1, not 0");
  if (retry_factor < 1)
    return bad("retry.factor", "must be at least 1, not " + num(retry_factor));
  if (db_stall_timeout <= db_statement_timeout)
    return bad("db.stall-timeout", "must exceed db.statement-timeout (" +
                                     num(db_statement_timeout) + ", " +
                                     source_of("db.statement-timeout") +
                                     "), not " + num(db_stall_timeout));
  if (queue_heartbeat_interval * 2 > queue_lease)
    return bad("queue.heartbeat-interval",
               "must be under half of queue.lease (" + num(queue_lease) + ", " +
                 source_of("queue.lease") + "), not " +
                 num(queue_heartbeat_interval));
  // A year of trading days is the most an overlap could usefully ask again.
  if (refresh_overlap > 260)
    return bad("refresh.overlap",
               "must be within 0..260, not " + num(refresh_overlap));
  // At 0 every holiday would count as a hole, asked for again each time.
  if (refresh_gap_days < 1)
    return bad("refresh.gap-days", "must be at least 1, not 0");
  if (refresh_delisted_after < 1)
    return bad("refresh.delisted-after", "must be at least 1, not 0");
  if (refresh_batch < 1)
    return bad("refresh.batch", "must be at least 1, not 0");
  // -- group commit and lean idle (perf11) ------------------------------------
  if (writer_batch_max < 1 || writer_batch_max > 10'000)
    return bad("writer.batch-max",
               "must be within 1..10000, not " + num(writer_batch_max));
  if (writer_connections < 1 || writer_connections > 16)
    return bad("writer.connections",
               "must be within 1..16, not " + num(writer_connections));
  pipeline_settings s;
  s.db = database();
  s.lease.worker = worker_name();
  s.lease.duration = ms(queue_lease);
  s.lease.orphan_after =
    2 * ms(queue_heartbeat_interval) + ms(queue_poll_interval);
  s.lease.max_attempts = static_cast<int32_t>(retry_max_attempts);
  s.lease.revive_after = ms(retry_revive_after);
  s.lease.history_range = history_range;
  s.lease.prune_after = ms(queue_prune_after);
  s.lease.gap_days = static_cast<int32_t>(refresh_gap_days);
  s.lease.delisted_after = static_cast<int32_t>(refresh_delisted_after);
  s.listen.poll_interval = ms(listener_poll_interval);
  s.listen.ping_interval = ms(listener_ping_interval);
  s.listen.reconnect_min = ms(listener_reconnect_min);
  s.listen.reconnect_max = ms(listener_reconnect_max);
  // A store round trip may wait for a connect and a stuck call to be cut.
  auto store_timeout =
    ms(db_stall_timeout) + ms(db_connect_timeout) + milliseconds{5'000};
  s.dedupe.poll_interval = ms(queue_poll_interval);
  s.dedupe.catch_up_interval = ms(queue_catch_up_interval);
  s.dedupe.full_catch_up_interval = ms(queue_full_catch_up_interval);
  s.dedupe.store_timeout = store_timeout;
  s.dedupe.max_sightings = static_cast<size_t>(queue_max_sightings);
  s.queue.poll_interval = ms(queue_poll_interval);
  s.queue.heartbeat_interval = ms(queue_heartbeat_interval);
  s.queue.store_timeout = store_timeout;
  s.queue.retry.backoff.base = ms(retry_base);
  s.queue.retry.backoff.factor = retry_factor;
  s.queue.retry.backoff.cap = ms(retry_cap);
  s.queue.retry.backoff.max_attempts = static_cast<int32_t>(retry_max_attempts);
  s.queue.retry.throttle_delay = ms(yahoo_throttle_pause);
  s.queue.seed = std::random_device{}();
  s.limiter.providers = {
    {"yahoo", yahoo_requests_per_second, yahoo_burst},
    {"frankfurter", frankfurter_requests_per_second, frankfurter_burst},
    {"coingecko", coingecko_requests_per_second, coingecko_burst},
    {"tiingo", tiingo_requests_per_second, tiingo_burst}};
  s.fetcher.provider_concurrency = {
    {"yahoo", static_cast<size_t>(yahoo_concurrency)},
    {"frankfurter", static_cast<size_t>(frankfurter_concurrency)},
    {"coingecko", static_cast<size_t>(coingecko_concurrency)},
    {"tiingo", static_cast<size_t>(tiingo_concurrency)}};
  s.fetcher.base_url = yahoo_base_url;
  auto& p = s.fetcher.providers;
  p.chains = {{"stock", providers_stock},
              {"etf", providers_etf},
              {"crypto", providers_crypto},
              {"fx", providers_fx}};
  p.frankfurter_base_url = frankfurter_base_url;
  p.coingecko_base_url = coingecko_base_url;
  p.coingecko_demo_key = coingecko_api_key;
  p.coingecko_ids = std::move(ids);
  p.tiingo_base_url = tiingo_base_url;
  p.tiingo_api_key = tiingo_api_key;
  s.fetcher.breaker.failures = static_cast<int32_t>(breaker_failures);
  s.fetcher.breaker.cool_down = ms(breaker_cool_down);
  s.fetcher.breaker.successes = static_cast<int32_t>(breaker_successes);
  s.fetcher.range = history_range;
  s.fetcher.window = static_cast<uint32_t>(fetch_window);
  s.fetcher.overlap = static_cast<int32_t>(refresh_overlap);
  s.scheduler.interval = ms(refresh_interval);
  s.scheduler.after_close = ms(refresh_after_close);
  s.scheduler.store_timeout = store_timeout;
  // Due runs are looked for as often as due jobs: a check in memory.
  s.scheduler.poll_interval = ms(queue_poll_interval);
  // For tests only, like BACKFILLD_FAILPOINTS: the clock by which the fetcher
  // and the scheduler tell open sessions and due runs starts at this Unix
  // time, so that a test can stand inside or after a session.
  if (auto now = std::getenv("BACKFILLD_TEST_NOW"))
    s.fetcher.start_unix_time = s.scheduler.start_unix_time =
      std::strtoll(now, nullptr, 10);
  s.schedule_store.batch = static_cast<int32_t>(refresh_batch);
  s.fetcher.http_timeout =
    ms(yahoo_timeout) + ms(yahoo_connect_timeout) + milliseconds{5'000};
  s.fetcher.store_timeout = store_timeout;
  s.fetcher.classify.throttle_pause = ms(yahoo_throttle_pause);
  s.lease.source_column = providers_source_column;
  s.fetcher.classify.provider_throttle_pause = {
    {"yahoo", ms(yahoo_throttle_pause)},
    {"frankfurter", ms(frankfurter_throttle_pause)},
    {"coingecko", ms(coingecko_throttle_pause)},
    {"tiingo", ms(tiingo_throttle_pause)}};
  auto longest_pause = ms(yahoo_throttle_pause);
  for (const auto& entry : s.fetcher.classify.provider_throttle_pause)
    longest_pause = std::max(longest_pause, entry.second);
  s.fetcher.retry_delay = ms(queue_poll_interval);
  // Waiting for a grant may take a 429's pause plus a window's worth of
  // requests at the slowest provider's rate (all of them may wait for it).
  // Only providers that can be used count: Tiingo without its key never
  // holds a grant, and its free tier's 50 requests an hour would stretch
  // every grant's time-out (and what CAF's clock holds for it) to twenty
  // minutes.
  auto slowest = yahoo_requests_per_second;
  for (const auto& limit : s.limiter.providers)
    if (auto provider = make_provider(limit.name, p);
        provider && provider->unusable().empty())
      slowest = std::min(slowest, limit.rate);
  s.fetcher.grant_timeout =
    longest_pause + milliseconds{60'000} +
    milliseconds{static_cast<int64_t>(1000.0 * fetch_window / slowest)};
  s.limiter.grant_timeout = s.fetcher.grant_timeout;
  // The longest request time-out of the process: after it, CAF's clock
  // holds none of a burst's requests any more (job_queue_settings).
  s.queue.settle_after =
    std::max({store_timeout, s.fetcher.http_timeout, s.fetcher.grant_timeout}) +
    milliseconds{5'000};
  s.http.user_agent = yahoo_user_agent;
  s.http.connect_timeout = ms(yahoo_connect_timeout);
  s.http.total_timeout = ms(yahoo_timeout);
  s.http.max_body_bytes = yahoo_max_response_bytes;
  s.http.ca_file = yahoo_ca_file;
  s.fetch_concurrency = static_cast<size_t>(fetch_concurrency);
  s.writer.store_timeout = store_timeout;
  s.writer.outliers.enabled = outliers_enabled;
  s.writer.outliers.factor = outliers_factor;
  s.writer.outliers.minor_unit_tolerance = outliers_minor_unit_tolerance;
  s.tracker.store_timeout = store_timeout;
  s.tracker.retry_delay = ms(queue_poll_interval);
  s.supervision.max_restarts = static_cast<int32_t>(supervisor_max_restarts);
  s.supervision.restart_window = ms(supervisor_restart_window);
  s.supervision.restart_delay = ms(supervisor_restart_delay);
  s.supervision.shutdown_grace = ms(shutdown_grace);
  s.supervision.summary_interval = ms(log_summary_interval);
  // -- group commit and lean idle (perf11) ------------------------------------
  s.writer.batch_max = static_cast<uint32_t>(writer_batch_max);
  s.writer.connections = static_cast<uint32_t>(writer_connections);
  return s;
}

} // namespace backfilld
