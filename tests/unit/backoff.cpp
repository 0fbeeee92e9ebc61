#define CAF_SUITE backoff
#include <caf/test/unit_test.hpp>

#include "policy/backoff.hpp"
#include "policy/verdict.hpp"

using namespace backfilld;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

CAF_TEST(delays grow exponentially with jitter and stop at the cap) {
  backoff_policy policy{1000ms, 2.0, 10'000ms, 8};
  std::mt19937_64 rng{42};
  for (int round = 0; round < 100; ++round) {
    auto first = backoff_delay(policy, 1, rng);
    CAF_CHECK_GREATER_OR_EQUAL(first, 500ms);
    CAF_CHECK_LESS_OR_EQUAL(first, 1000ms);
    auto third = backoff_delay(policy, 3, rng);
    CAF_CHECK_GREATER_OR_EQUAL(third, 2000ms);
    CAF_CHECK_LESS_OR_EQUAL(third, 4000ms);
    auto late = backoff_delay(policy, 30, rng);
    CAF_CHECK_GREATER_OR_EQUAL(late, 5000ms);
    CAF_CHECK_LESS_OR_EQUAL(late, 10'000ms);
  }
}

CAF_TEST(jitter spreads jobs that failed together) {
  backoff_policy policy{10'000ms, 2.0, 3'600'000ms, 8};
  std::mt19937_64 rng{7};
  auto a = backoff_delay(policy, 2, rng);
  auto b = backoff_delay(policy, 2, rng);
  CAF_CHECK_NOT_EQUAL(a, b);
}

CAF_TEST(attempts run out at the maximum) {
  backoff_policy policy{1000ms, 2.0, 10'000ms, 3};
  CAF_CHECK(!exhausted(policy, 2));
  CAF_CHECK(exhausted(policy, 3));
}

CAF_TEST(the restart window counts restarts within its span) {
  restart_window window{3, std::chrono::seconds{10}};
  restart_window::clock::time_point t0{std::chrono::hours{1}};
  CAF_CHECK(window.record(t0));
  CAF_CHECK(window.record(t0 + 1s));
  CAF_CHECK(window.record(t0 + 2s));
  CAF_CHECK(!window.record(t0 + 3s));
  // Once the early ones leave the window, restarts are fine again.
  restart_window calm{3, std::chrono::seconds{10}};
  for (int i = 0; i < 10; ++i)
    CAF_CHECK(calm.record(t0 + std::chrono::seconds{i * 4}));
}

CAF_TEST(verdicts follow the failure kind) {
  retry_policy policy;
  policy.backoff = backoff_policy{1000ms, 2.0, 60'000ms, 3};
  policy.throttle_delay = 30'000ms;
  std::mt19937_64 rng{1};
  backfill_job job;
  job.id = 9;
  job.attempts = 1;
  auto permanent =
    decide(job, {failure_kind::permanent, "gone", 0}, policy, rng);
  CAF_CHECK_EQUAL(permanent.job, 9);
  CAF_CHECK(permanent.action == verdict_action::give_up_permanent);
  CAF_CHECK_EQUAL(permanent.reason, "gone");
  auto transient =
    decide(job, {failure_kind::transient, "503", 0}, policy, rng);
  CAF_CHECK(transient.action == verdict_action::retry);
  CAF_CHECK(!transient.refund_attempt);
  CAF_CHECK_GREATER_OR_EQUAL(transient.delay_ms, 500);
  CAF_CHECK_LESS_OR_EQUAL(transient.delay_ms, 1000);
  auto throttled =
    decide(job, {failure_kind::throttled, "429", 0}, policy, rng);
  CAF_CHECK(throttled.action == verdict_action::retry);
  CAF_CHECK(throttled.refund_attempt);
  CAF_CHECK_EQUAL(throttled.delay_ms, 30'000);
  auto told = decide(job, {failure_kind::throttled, "429", 5'000}, policy, rng);
  CAF_CHECK_EQUAL(told.delay_ms, 5'000);
  job.attempts = 3;
  auto last = decide(job, {failure_kind::transient, "503", 0}, policy, rng);
  CAF_CHECK(last.action == verdict_action::give_up);
  CAF_CHECK_EQUAL(last.reason, "gave up after 3 attempts: 503");
}

CAF_TEST(reasons are fit for a log line and a text column) {
  CAF_CHECK_EQUAL(printable_reason("HTTP 503"), "HTTP 503");
  CAF_CHECK_EQUAL(printable_reason(std::string{"a\0b\nc", 5}), "a b c");
  auto long_text = std::string(600, 'x');
  CAF_CHECK_EQUAL(printable_reason(long_text).size(), 500u);
  // 499 ASCII bytes and a two-byte character: the cut drops it whole.
  auto cut = std::string(499, 'x') + "\xc3\xa9";
  CAF_CHECK_EQUAL(printable_reason(cut), std::string(499, 'x'));
  CAF_CHECK_EQUAL(printable_reason("caf\xc3\xa9"), "caf\xc3\xa9");
}

CAF_TEST(a reconnect delay doubles up to its cap and starts over) {
  doubling_delay delay{100ms, 700ms};
  std::vector<int64_t> waits;
  for (int i = 0; i < 5; ++i)
    waits.push_back(delay.next().count());
  CAF_CHECK_EQUAL(waits, std::vector<int64_t>({100, 200, 400, 700, 700}));
  delay.reset();
  CAF_CHECK_EQUAL(delay.next().count(), 100);
}
