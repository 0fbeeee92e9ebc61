#define CAF_SUITE prometheus
#include <caf/test/unit_test.hpp>

#include <chrono>
#include <string>

#include "telemetry/prometheus.hpp"

using namespace backfilld;
using namespace std::chrono_literals;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos ||
         text.rfind(line + "\n", 0) == 0;
}

} // namespace

CAF_TEST(counters appear with their values and type lines) {
  counters c;
  c.notifications = 7;
  c.notifications_rejected = 2;
  c.jobs_queued.add(job_kind::backfill, 3);
  c.catch_up_queued.add(job_kind::backfill, 4);
  c.catch_up_queued.add(job_kind::extend);
  c.jobs_done.add(job_kind::backfill, 5);
  c.jobs_done.add(job_kind::extend, 2);
  c.jobs_failed.add(job_kind::extend);
  c.rows_written = 251;
  c.jobs_in_memory_set(6);
  c.jobs_in_memory_set(2);
  auto text = render_prometheus(c, "1.2.3");
  CAF_CHECK(has_line(text, "# TYPE backfilld_notifications_total counter"));
  CAF_CHECK(has_line(text, "backfilld_notifications_total 7"));
  CAF_CHECK(has_line(
    text, "backfilld_notifications_rejected_total{reason=\"malformed\"} 2"));
  CAF_CHECK(has_line(text, "backfilld_jobs_queued_total{source="
                           "\"notification\",kind=\"backfill\"} 3"));
  CAF_CHECK(has_line(text, "backfilld_jobs_queued_total{source="
                           "\"notification\",kind=\"extend\"} 0"));
  CAF_CHECK(has_line(
    text,
    "backfilld_jobs_queued_total{source=\"catch_up\",kind=\"backfill\"} 4"));
  CAF_CHECK(has_line(
    text,
    "backfilld_jobs_queued_total{source=\"catch_up\",kind=\"extend\"} 1"));
  CAF_CHECK(has_line(text, "backfilld_jobs_done_total{kind=\"backfill\"} 5"));
  CAF_CHECK(has_line(text, "backfilld_jobs_done_total{kind=\"extend\"} 2"));
  CAF_CHECK(has_line(text, "backfilld_jobs_failed_total{kind=\"extend\"} 1"));
  CAF_CHECK(
    has_line(text, "backfilld_jobs_retried_total{kind=\"backfill\"} 0"));
  // The summary line keeps its totals.
  CAF_CHECK(c.summary().find(" done=7 ") != std::string::npos);
  CAF_CHECK(has_line(text, "backfilld_rows_written_total 251"));
  CAF_CHECK(has_line(text, "# TYPE backfilld_jobs_in_hand gauge"));
  CAF_CHECK(has_line(text, "backfilld_jobs_in_hand 2"));
  CAF_CHECK(has_line(text, "backfilld_jobs_in_hand_max 6"));
  CAF_CHECK(has_line(text, "backfilld_build_info{version=\"1.2.3\"} 1"));
  CAF_CHECK(text.back() == '\n');
}

CAF_TEST(histogram buckets are cumulative and count equals +Inf) {
  counters c;
  c.fetch_seconds.observe(30ms);  // <= 0.05
  c.fetch_seconds.observe(50ms);  // <= 0.05 (bounds are inclusive)
  c.fetch_seconds.observe(700ms); // <= 1
  c.fetch_seconds.observe(90s);   // +Inf only
  auto text = render_prometheus(c, "x");
  auto name = std::string{"backfilld_fetch_duration_seconds"};
  CAF_CHECK(has_line(text, "# TYPE " + name + " histogram"));
  CAF_CHECK(has_line(text, name + "_bucket{le=\"0.05\"} 2"));
  CAF_CHECK(has_line(text, name + "_bucket{le=\"0.5\"} 2"));
  CAF_CHECK(has_line(text, name + "_bucket{le=\"1\"} 3"));
  CAF_CHECK(has_line(text, name + "_bucket{le=\"60\"} 3"));
  CAF_CHECK(has_line(text, name + "_bucket{le=\"+Inf\"} 4"));
  CAF_CHECK(has_line(text, name + "_count 4"));
  CAF_CHECK(has_line(text, name + "_sum 90.78"));
}

CAF_TEST(labelled families cover every label value) {
  counters c;
  c.provider_response("yahoo", 200);
  c.provider_response("yahoo", 204);
  c.provider_response("yahoo", 429);
  c.provider_response("yahoo", 0);
  c.provider_response("yahoo", 999); // nonsense status: counted as no answer
  c.provider_response("frankfurter", 503);
  c.provider_response("nobody", 200); // not a provider we know: not counted
  c.catch_up_scan(true, 2s);
  c.catch_up_scan(false, 10ms);
  c.catch_up_scan(false, 20ms);
  c.role_up(role::fetcher);
  c.role_down(role::fetcher, true);
  c.role_down(role::fetcher, true);
  c.role_down(role::writer, false); // at shutdown: not a restart
  auto text = render_prometheus(c, "x");
  auto requests = [](const char* provider, const char* status_class) {
    return std::string{"backfilld_provider_requests_total{provider=\""} +
           provider + "\",status_class=\"" + status_class + "\"} ";
  };
  CAF_CHECK(has_line(text, requests("yahoo", "2xx") + "2"));
  CAF_CHECK(has_line(text, requests("yahoo", "4xx") + "1"));
  CAF_CHECK(has_line(text, requests("yahoo", "none") + "2"));
  CAF_CHECK(has_line(text, requests("yahoo", "5xx") + "0"));
  CAF_CHECK(has_line(text, requests("frankfurter", "5xx") + "1"));
  CAF_CHECK(has_line(text, requests("tiingo", "2xx") + "0"));
  CAF_CHECK(has_line(text, "backfilld_catch_up_scans_total{scan=\"full\"} 1"));
  CAF_CHECK(
    has_line(text, "backfilld_catch_up_scans_total{scan=\"incremental\"} 2"));
  CAF_CHECK(has_line(text, "backfilld_catch_up_duration_seconds_bucket{scan="
                           "\"incremental\",le=\"0.01\"} 1"));
  CAF_CHECK(has_line(
    text, "backfilld_catch_up_duration_seconds_count{scan=\"full\"} 1"));
  CAF_CHECK(
    has_line(text, "backfilld_actor_restarts_total{role=\"fetcher\"} 2"));
  CAF_CHECK(
    has_line(text, "backfilld_actor_restarts_total{role=\"writer\"} 0"));
  for (auto r : all_roles)
    CAF_CHECK(text.find(std::string{"backfilld_role_up{role=\""} +
                        to_string(r) + "\"} 0") != std::string::npos);
}

CAF_TEST(a kind missing from the list is not counted) {
  counters c;
  c.jobs_done.add(static_cast<job_kind>(200));
  CAF_CHECK_EQUAL(c.jobs_done.total(), 0u);
  CAF_CHECK_EQUAL(kind_index(static_cast<job_kind>(200)),
                  std::size(all_job_kinds));
  for (size_t i = 0; i < std::size(all_job_kinds); ++i)
    CAF_CHECK_EQUAL(kind_index(all_job_kinds[i]), i);
}

CAF_TEST(rate limiter waits are a counter and a histogram per provider) {
  counters c;
  c.limiter_waits.add("yahoo", 3);
  c.limiter_waits.add("coingecko");
  c.limiter_waits.add("nobody");
  c.limiter_expired = 1;
  c.limiter_waited("yahoo", 200ms);
  c.limiter_waited("yahoo", 2s);
  c.limiter_waited("frankfurter", 20ms);
  c.limiter_waited("nobody", 20ms);
  c.throttled.add("frankfurter");
  auto text = render_prometheus(c, "x");
  CAF_CHECK(
    has_line(text, "# TYPE backfilld_rate_limiter_waits_total counter"));
  CAF_CHECK(
    has_line(text, "backfilld_rate_limiter_waits_total{provider=\"yahoo\"} 3"));
  CAF_CHECK(has_line(
    text, "backfilld_rate_limiter_waits_total{provider=\"coingecko\"} 1"));
  CAF_CHECK(has_line(
    text, "backfilld_rate_limiter_waits_total{provider=\"tiingo\"} 0"));
  CAF_CHECK_EQUAL(c.limiter_waits.total(), 4u);
  CAF_CHECK(has_line(text, "backfilld_rate_limiter_expired_total 1"));
  CAF_CHECK(
    has_line(text, "# TYPE backfilld_rate_limiter_wait_seconds histogram"));
  CAF_CHECK(has_line(text, "backfilld_rate_limiter_wait_seconds_bucket{"
                           "provider=\"yahoo\",le=\"0.25\"} 1"));
  CAF_CHECK(has_line(text, "backfilld_rate_limiter_wait_seconds_bucket{"
                           "provider=\"yahoo\",le=\"+Inf\"} 2"));
  CAF_CHECK(has_line(
    text, "backfilld_rate_limiter_wait_seconds_sum{provider=\"yahoo\"} 2.2"));
  CAF_CHECK(has_line(text, "backfilld_rate_limiter_wait_seconds_count{"
                           "provider=\"frankfurter\"} 1"));
  CAF_CHECK(has_line(text, "backfilld_rate_limiter_wait_seconds_count{"
                           "provider=\"tiingo\"} 0"));
  CAF_CHECK(has_line(
    text, "backfilld_provider_throttled_total{provider=\"frankfurter\"} 1"));
  CAF_CHECK(
    has_line(text, "backfilld_provider_throttled_total{provider=\"yahoo\"} 0"));
  CAF_CHECK(text.find("nobody") == std::string::npos);
}

CAF_TEST(queue gauges show the last sample and vanish when one fails) {
  counters c;
  auto text = render_prometheus(c, "x");
  // Never sampled: no gauge rather than a made-up zero.
  CAF_CHECK(text.find("backfilld_queue_jobs{") == std::string::npos);
  CAF_CHECK(has_line(text, "backfilld_queue_sample_timestamp_seconds 0"));
  queue_sample sample{};
  sample[kind_index(job_kind::backfill)] = kind_sample{7, 4, 2, 1, 42.5};
  sample[kind_index(job_kind::extend)] = kind_sample{0, 0, 1, 0, 0};
  c.set_queue_sample(sample, 1700000000.5);
  text = render_prometheus(c, "x");
  CAF_CHECK(has_line(text, "# TYPE backfilld_queue_jobs gauge"));
  CAF_CHECK(has_line(
    text, "backfilld_queue_jobs{kind=\"backfill\",state=\"pending\"} 7"));
  CAF_CHECK(has_line(
    text, "backfilld_queue_jobs{kind=\"backfill\",state=\"running\"} 2"));
  CAF_CHECK(has_line(
    text, "backfilld_queue_jobs{kind=\"backfill\",state=\"failed\"} 1"));
  CAF_CHECK(has_line(
    text, "backfilld_queue_jobs{kind=\"extend\",state=\"running\"} 1"));
  CAF_CHECK(has_line(text, "backfilld_queue_due_jobs{kind=\"backfill\"} 4"));
  CAF_CHECK(has_line(text, "backfilld_queue_due_jobs{kind=\"extend\"} 0"));
  CAF_CHECK(has_line(
    text, "backfilld_queue_oldest_due_seconds{kind=\"backfill\"} 42.5"));
  CAF_CHECK(
    has_line(text, "backfilld_queue_oldest_due_seconds{kind=\"extend\"} 0"));
  CAF_CHECK(
    has_line(text, "backfilld_queue_sample_timestamp_seconds 1700000000.5"));
  c.queue_sample_failed();
  text = render_prometheus(c, "x");
  CAF_CHECK(text.find("backfilld_queue_jobs") == std::string::npos);
  CAF_CHECK(text.find("backfilld_queue_oldest_due_seconds") ==
            std::string::npos);
  CAF_CHECK(text.find("backfilld_queue_due_jobs") == std::string::npos);
  CAF_CHECK(has_line(text, "backfilld_queue_sample_errors_total 1"));
  // When the last good look was stays visible.
  CAF_CHECK(
    has_line(text, "backfilld_queue_sample_timestamp_seconds 1700000000.5"));
  c.set_queue_sample(sample, 1700000015.5);
  text = render_prometheus(c, "x");
  CAF_CHECK(has_line(
    text, "backfilld_queue_jobs{kind=\"backfill\",state=\"pending\"} 7"));
}

CAF_TEST(every sample line belongs to a family declared before it) {
  counters c;
  auto text = render_prometheus(c, "x");
  std::string family;
  size_t pos = 0;
  size_t samples = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    auto line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0)
      continue;
    ++samples;
    CAF_CHECK(!family.empty());
    CAF_CHECK_EQUAL(line.compare(0, family.size(), family), 0);
  }
  CAF_CHECK(samples > 50);
}

CAF_TEST(readiness names every reason) {
  counters c;
  auto r = check_readiness(c);
  CAF_CHECK(!r.ready);
  CAF_CHECK(r.reason.find("database unreachable") != std::string::npos);
  CAF_CHECK(r.reason.find("LISTEN connection not active") != std::string::npos);
  CAF_CHECK(r.reason.find("roles not running: tracker") != std::string::npos);
  c.database_reachable = true;
  c.listen_active = true;
  for (auto x : all_roles)
    c.role_up(x);
  r = check_readiness(c);
  CAF_CHECK(r.ready);
  CAF_CHECK_EQUAL(r.reason, "ready");
  c.role_down(role::listener, true);
  r = check_readiness(c);
  CAF_CHECK(!r.ready);
  CAF_CHECK_EQUAL(r.reason, "roles not running: listener");
  c.role_up(role::listener);
  c.database_reachable = false;
  r = check_readiness(c);
  CAF_CHECK_EQUAL(r.reason, "database unreachable");
}
