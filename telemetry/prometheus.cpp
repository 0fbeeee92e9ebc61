#include "telemetry/prometheus.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

namespace backfilld {

namespace {

/// Label values for `counters::provider_responses`.
constexpr const char* status_classes[] = {"none", "1xx", "2xx",
                                          "3xx",  "4xx", "5xx"};
constexpr const char* scan_kinds[] = {"incremental", "full"};

std::string kind_label(size_t i) {
  return std::string{"kind=\""} + to_string(all_job_kinds[i]) + "\"";
}

/// Shortest text that reads back as the same double ("0.05", "1", "+Inf").
std::string number(double x) {
  if (std::isinf(x))
    return x > 0 ? "+Inf" : "-Inf";
  char buf[32];
  // Whole numbers as written ("10", not %g's "1e+01").
  if (x == std::floor(x) && std::fabs(x) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", x);
    return buf;
  }
  std::snprintf(buf, sizeof(buf), "%.17g", x);
  for (int precision = 1; precision < 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof(shorter), "%.*g", precision, x);
    if (std::strtod(shorter, nullptr) == x)
      return shorter;
  }
  return buf;
}

/// Escapes a label value: backslash, double quote and newline.
std::string escaped(std::string_view value) {
  std::string result;
  for (auto ch : value) {
    if (ch == '\\')
      result += "\\\\";
    else if (ch == '"')
      result += "\\\"";
    else if (ch == '\n')
      result += "\\n";
    else
      result += ch;
  }
  return result;
}

class exposition {
 public:
  void family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  /// One sample; `labels` is empty or `key="value",…` without braces.
  template <class T>
  void sample(std::string_view name, const std::string& labels, T value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    if constexpr (std::is_floating_point_v<T>)
      out_ += number(value);
    else
      out_ += std::to_string(value);
    out_ += '\n';
  }

  template <class T>
  void single(const char* name, const char* type, const char* help, T value) {
    family(name, type, help);
    sample(name, "", value);
  }

  /// Cumulative buckets, sum and count; `labels` precede `le`.
  template <size_t N>
  void histogram_samples(const std::string& name, const std::string& labels,
                         const histogram<N>& h) {
    auto prefix = labels.empty() ? std::string{} : labels + ",";
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= N; ++i) {
      cumulative += h.count_in(i);
      auto le = i < N ? number(h.bound(i)) : std::string{"+Inf"};
      sample(name + "_bucket", prefix + "le=\"" + le + "\"", cumulative);
    }
    sample(name + "_sum", labels, h.sum_seconds());
    // The count is the +Inf bucket, read once: a scrape racing an
    // observation never shows a count that disagrees with its buckets.
    sample(name + "_count", labels, cumulative);
  }

  std::string take() {
    return std::move(out_);
  }

 private:
  std::string out_;
};

uint64_t get(const std::atomic<uint64_t>& x) {
  return x.load(std::memory_order_relaxed);
}

/// One sample per job kind, `labels` (if any) before `kind`.
void by_kind(exposition& w, const char* name, const std::string& labels,
             const per_kind& values) {
  auto prefix = labels.empty() ? std::string{} : labels + ",";
  for (size_t i = 0; i < std::size(all_job_kinds); ++i)
    w.sample(name, prefix + kind_label(i), values.at(i));
}

void by_provider(exposition& w, const char* name, const per_provider& values) {
  for (size_t i = 0; i < std::size(metric_providers); ++i)
    w.sample(name, std::string{"provider=\""} + metric_providers[i] + "\"",
             values.at(i));
}

/// The queue as the database showed it at the last look; nothing when that
/// look failed (see `counters::queue_sampled`).
void queue_gauges(exposition& w, const counters& c) {
  w.single("backfilld_queue_sample_timestamp_seconds", "gauge",
           "Unix time of the last successful look at backfill_jobs (0: "
           "none yet).",
           c.queue_sampled_at.load());
  w.single("backfilld_queue_sample_errors_total", "counter",
           "Looks at backfill_jobs that failed; the queue gauges are absent "
           "until one succeeds.",
           get(c.queue_sample_errors));
  if (!c.queue_sampled.load())
    return;
  w.family("backfilld_queue_jobs", "gauge",
           "Jobs in backfill_jobs by kind and state, for every daemon on "
           "the database.");
  constexpr const char* states[] = {"pending", "running", "failed"};
  const std::array<std::atomic<int64_t>, std::size(all_job_kinds)>* columns[] =
    {&c.jobs_pending, &c.jobs_running, &c.jobs_failed_now};
  for (size_t s = 0; s < std::size(states); ++s)
    for (size_t i = 0; i < std::size(all_job_kinds); ++i)
      w.sample("backfilld_queue_jobs",
               kind_label(i) + ",state=\"" + states[s] + "\"",
               (*columns[s])[i].load());
  w.family("backfilld_queue_due_jobs", "gauge",
           "Pending jobs that are due now (not backing off or scheduled for "
           "later), by kind.");
  for (size_t i = 0; i < std::size(all_job_kinds); ++i)
    w.sample("backfilld_queue_due_jobs", kind_label(i), c.jobs_due[i].load());
  w.family("backfilld_queue_oldest_due_seconds", "gauge",
           "How long the pending job due the longest has waited for a "
           "worker (0: none due).");
  for (size_t i = 0; i < std::size(all_job_kinds); ++i)
    w.sample("backfilld_queue_oldest_due_seconds", kind_label(i),
             c.oldest_due[i].load());
}

} // namespace

std::string render_prometheus(const counters& c, std::string_view version) {
  exposition w;
  w.single("backfilld_notifications_total", "counter",
           "Notifications received on the LISTEN channel.",
           get(c.notifications));
  w.family("backfilld_notifications_rejected_total", "counter",
           "Notifications refused, by reason.");
  w.sample("backfilld_notifications_rejected_total", "reason=\"malformed\"",
           get(c.notifications_rejected));
  w.single("backfilld_unknown_assets_total", "counter",
           "Sightings of asset ids that the assets table does not have.",
           get(c.unknown_assets));
  w.family("backfilld_jobs_queued_total", "counter",
           "Jobs added to backfill_jobs, by what found the asset and kind.");
  by_kind(w, "backfilld_jobs_queued_total", "source=\"notification\"",
          c.jobs_queued);
  by_kind(w, "backfilld_jobs_queued_total", "source=\"catch_up\"",
          c.catch_up_queued);
  w.family("backfilld_jobs_done_total", "counter",
           "Jobs finished as done, by kind.");
  by_kind(w, "backfilld_jobs_done_total", "", c.jobs_done);
  w.family("backfilld_jobs_retried_total", "counter",
           "Job attempts that failed and were scheduled again, by kind.");
  by_kind(w, "backfilld_jobs_retried_total", "", c.jobs_retried);
  w.family("backfilld_jobs_failed_total", "counter",
           "Jobs marked failed (permanent, or out of attempts), by kind.");
  by_kind(w, "backfilld_jobs_failed_total", "", c.jobs_failed);
  w.single("backfilld_jobs_in_hand", "gauge",
           "Jobs claimed from the table and not yet reported back.",
           c.jobs_in_memory.load(std::memory_order_relaxed));
  w.single("backfilld_jobs_in_hand_max", "gauge",
           "The highest backfilld_jobs_in_hand since start.",
           c.jobs_in_memory_max.load(std::memory_order_relaxed));
  w.family("backfilld_provider_requests_total", "counter",
           "Provider requests by provider and HTTP status class (none: no "
           "answer).");
  for (size_t p = 0; p < std::size(metric_providers); ++p)
    for (size_t i = 0; i < c.provider_responses[p].size(); ++i)
      w.sample("backfilld_provider_requests_total",
               std::string{"provider=\""} + metric_providers[p] +
                 "\",status_class=\"" + status_classes[i] + "\"",
               get(c.provider_responses[p][i]));
  w.single("backfilld_provider_errors_total", "counter",
           "Transient provider failures (network, 5xx, garbage, timeouts).",
           get(c.fetch_errors));
  w.family("backfilld_provider_throttled_total", "counter",
           "Pauses of a provider's fetches it asked for (HTTP 429), by "
           "provider.");
  by_provider(w, "backfilld_provider_throttled_total", c.throttled);
  w.family("backfilld_rate_limiter_waits_total", "counter",
           "Provider requests that waited for the rate limiter's grant, by "
           "provider.");
  by_provider(w, "backfilld_rate_limiter_waits_total", c.limiter_waits);
  w.single("backfilld_rate_limiter_expired_total", "counter",
           "Waiting requests dropped because their fetch stopped waiting.",
           get(c.limiter_expired));
  w.family("backfilld_rate_limiter_wait_seconds", "histogram",
           "How long requests that had to wait waited for their grant, by "
           "provider.");
  for (size_t p = 0; p < std::size(metric_providers); ++p)
    w.histogram_samples("backfilld_rate_limiter_wait_seconds",
                        std::string{"provider=\""} + metric_providers[p] + "\"",
                        c.limiter_wait_seconds[p]);
  w.family("backfilld_fetch_duration_seconds", "histogram",
           "Time from a provider request to its answer.");
  w.histogram_samples("backfilld_fetch_duration_seconds", "", c.fetch_seconds);
  w.single("backfilld_unknown_sources_total", "counter",
           "Jobs failed because the asset's row names no known provider "
           "(providers.source-column).",
           get(c.unknown_sources));
  w.single("backfilld_bars_skipped_total", "counter",
           "Provider bars skipped for missing or invalid values.",
           get(c.bars_skipped));
  w.single("backfilld_rows_written_total", "counter",
           "Price rows inserted or changed in asset_prices.",
           get(c.rows_written));
  w.single("backfilld_write_errors_total", "counter",
           "Price series that could not be stored.", get(c.write_errors));
  w.single("backfilld_outliers_held_total", "counter",
           "Bad prints held back instead of stored (each once).",
           get(c.outliers_held));
  w.family("backfilld_write_duration_seconds", "histogram",
           "Time to store one price series (one transaction).");
  w.histogram_samples("backfilld_write_duration_seconds", "", c.write_seconds);
  w.family("backfilld_catch_up_scans_total", "counter",
           "Catch-up scans completed, by scope.");
  for (size_t i = 0; i < 2; ++i)
    w.sample("backfilld_catch_up_scans_total",
             std::string{"scan=\""} + scan_kinds[i] + "\"",
             get(c.catch_up_scans[i]));
  w.family("backfilld_catch_up_duration_seconds", "histogram",
           "Duration of completed catch-up scans, by scope.");
  for (size_t i = 0; i < 2; ++i)
    w.histogram_samples("backfilld_catch_up_duration_seconds",
                        std::string{"scan=\""} + scan_kinds[i] + "\"",
                        c.catch_up_seconds[i]);
  w.single("backfilld_listener_reconnects_total", "counter",
           "LISTEN connections re-established.", get(c.listener_reconnects));
  w.single("backfilld_database_unavailable_total", "counter",
           "Database connects and calls refused while it was unavailable.",
           get(c.db_unavailable));
  w.family("backfilld_actor_restarts_total", "counter",
           "Roles restarted by the supervisor after they died, by role.");
  for (auto r : all_roles)
    w.sample("backfilld_actor_restarts_total",
             std::string{"role=\""} + to_string(r) + "\"",
             get(c.restarts_by_role[static_cast<size_t>(r)]));
  auto up = c.roles_up.load();
  w.family("backfilld_role_up", "gauge",
           "1 while the supervisor has the role running.");
  for (auto r : all_roles)
    w.sample("backfilld_role_up", std::string{"role=\""} + to_string(r) + "\"",
             (up >> static_cast<unsigned>(r)) & 1u);
  w.single("backfilld_database_reachable", "gauge",
           "1 when the last database call reached the server.",
           c.database_reachable.load() ? 1 : 0);
  w.single("backfilld_listen_active", "gauge",
           "1 while the LISTEN connection is up.",
           c.listen_active.load() ? 1 : 0);
  w.single("backfilld_cluster_nodes", "gauge",
           "Fetcher nodes connected to this core.", c.cluster_nodes.load());
  w.single("backfilld_cluster_jobs_handed_back_total", "counter",
           "Jobs handed back because the node holding them was lost.",
           c.cluster_jobs_handed_back.load());
  w.single("backfilld_cluster_handshakes_refused_total", "counter",
           "TLS handshakes on the cluster port that failed (no certificate "
           "from our CA, or not TLS at all).",
           c.cluster_handshakes_refused.load());
  queue_gauges(w, c);
  w.family("backfilld_build_info", "gauge",
           "Always 1; the labels say which build runs.");
  w.sample("backfilld_build_info", "version=\"" + escaped(version) + "\"", 1);
  return w.take();
}

readiness check_readiness(const counters& c) {
  std::string reason;
  auto add = [&](const std::string& why) {
    if (!reason.empty())
      reason += "; ";
    reason += why;
  };
  if (!c.database_reachable.load())
    add("database unreachable");
  if (!c.listen_active.load())
    add("LISTEN connection not active");
  auto up = c.roles_up.load();
  std::string down;
  for (auto r : all_roles)
    if (((up >> static_cast<unsigned>(r)) & 1u) == 0) {
      if (!down.empty())
        down += ", ";
      down += to_string(r);
    }
  if (!down.empty())
    add("roles not running: " + down);
  if (reason.empty())
    return {true, "ready"};
  return {false, std::move(reason)};
}

} // namespace backfilld
