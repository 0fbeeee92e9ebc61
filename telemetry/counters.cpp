#include "telemetry/counters.hpp"

namespace backfilld {

void counters::jobs_in_memory_set(int64_t n) {
  jobs_in_memory = n;
  auto max = jobs_in_memory_max.load();
  while (n > max && !jobs_in_memory_max.compare_exchange_weak(max, n)) {
    // Retry with the value another thread stored.
  }
}

void counters::provider_response(std::string_view provider, int32_t status) {
  auto i = (status >= 100 && status < 600) ? static_cast<size_t>(status / 100)
                                           : size_t{0};
  for (size_t p = 0; p < std::size(metric_providers); ++p)
    if (provider == metric_providers[p])
      provider_responses[p][i].fetch_add(1, std::memory_order_relaxed);
}

void counters::set_queue_sample(const queue_sample& sample, double unix_now) {
  for (size_t i = 0; i < sample.size(); ++i) {
    jobs_pending[i] = sample[i].pending;
    jobs_due[i] = sample[i].due;
    jobs_running[i] = sample[i].running;
    jobs_failed_now[i] = sample[i].failed;
    oldest_due[i] = sample[i].oldest_due_seconds;
  }
  queue_sampled_at = unix_now;
  queue_sampled = true;
}

void counters::queue_sample_failed() {
  queue_sampled = false;
  queue_sample_errors.fetch_add(1, std::memory_order_relaxed);
}

void counters::catch_up_scan(bool full, std::chrono::nanoseconds took) {
  catch_up_scans[full ? 1 : 0].fetch_add(1, std::memory_order_relaxed);
  catch_up_seconds[full ? 1 : 0].observe(took);
}

void counters::role_up(role r) {
  roles_up.fetch_or(uint32_t{1} << static_cast<unsigned>(r));
}

void counters::role_down(role r, bool restarted) {
  roles_up.fetch_and(~(uint32_t{1} << static_cast<unsigned>(r)));
  if (restarted)
    restarts_by_role[static_cast<size_t>(r)].fetch_add(1);
}

std::string counters::summary() const {
  std::string result;
  auto add = [&](const char* key, auto value) {
    if (!result.empty())
      result += ' ';
    result += key;
    result += '=';
    result += std::to_string(value);
  };
  add("notifications", notifications.load());
  add("rejected", notifications_rejected.load());
  add("unknown_assets", unknown_assets.load());
  add("queued", jobs_queued.total());
  add("catch_up_queued", catch_up_queued.total());
  add("done", jobs_done.total());
  add("retried", jobs_retried.total());
  add("failed", jobs_failed.total());
  add("fetches", fetches.load());
  add("fetch_errors", fetch_errors.load());
  add("throttled", throttled.total());
  add("bars_skipped", bars_skipped.load());
  add("rows_written", rows_written.load());
  add("write_errors", write_errors.load());
  add("outliers_held", outliers_held.load());
  add("jobs_in_memory", jobs_in_memory.load());
  add("jobs_in_memory_max", jobs_in_memory_max.load());
  add("reconnects", listener_reconnects.load());
  add("restarts", restarts.load());
  add("db_unavailable", db_unavailable.load());
  return result;
}

counters& metrics() {
  static counters instance;
  return instance;
}

} // namespace backfilld
