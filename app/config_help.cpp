// `backfilld --help`: the options operators actually tune, grouped, each
// with its default as an operator writes it (and never a secret).

#include <string>

#include "app/config.hpp"
#include "app/config_check.hpp"

namespace backfilld {

namespace {

/// What `--help` shows: the options operators actually tune, in groups.
constexpr const char* tuned_options[] = {
  "db.url",
  "db.url-file",
  "db.connect-timeout",
  "db.statement-timeout",
  "yahoo.base-url",
  "yahoo.requests-per-second",
  "yahoo.burst",
  "yahoo.concurrency",
  "yahoo.timeout",
  "yahoo.ca-file",
  "providers.stock",
  "providers.etf",
  "providers.crypto",
  "providers.fx",
  "frankfurter.base-url",
  "frankfurter.requests-per-second",
  "coingecko.base-url",
  "coingecko.requests-per-second",
  "coingecko.api-key-file",
  "coingecko.ids",
  "tiingo.base-url",
  "tiingo.api-key-file",
  "tiingo.requests-per-second",
  "breaker.cool-down",
  "fetch.concurrency",
  "fetch.window",
  "history.range",
  "refresh.interval",
  "refresh.after-close",
  "refresh.overlap",
  "refresh.delisted-after",
  "outliers.enabled",
  "outliers.factor",
  "writer.batch-max",
  "writer.connections",
  "retry.max-attempts",
  "retry.revive-after",
  "queue.lease",
  "queue.catch-up-interval",
  "shutdown.grace",
  "log.level",
  "log.format",
  "log.summary-interval",
  "metrics.address",
  "metrics.port",
  "metrics.sample-interval",
  "cluster.role",
  "cluster.core",
  "cluster.address",
  "cluster.port",
  "cluster.node-name",
  "cluster.heartbeat-timeout",
  "cluster.requests-per-second",
  "cluster.tls",
};

} // namespace

std::string config::help_text() const {
  std::string result;
  std::string group;
  for (auto name : tuned_options) {
    auto option = custom_options_.qualified_name_lookup(name);
    if (option == nullptr)
      continue;
    auto category =
      std::string{option->category().begin(), option->category().end()};
    if (category != group) {
      group = category;
      result += "\n  " + group + "\n";
    }
    auto line =
      "    --" + std::string{name} + "=" +
      std::string{option->type_name().begin(), option->type_name().end()};
    if (line.size() < 42)
      line.resize(42, ' ');
    else
      line += "\n" + std::string(42, ' ');
    line +=
      std::string{option->description().begin(), option->description().end()};
    if (auto value = option->get()) {
      auto text = config_check::masked(name, config_check::show(*value));
      if (!text.empty())
        line += " [" + text + "]";
    }
    result += line + "\n";
  }
  return result;
}

} // namespace backfilld
