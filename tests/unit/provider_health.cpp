#define CAF_SUITE provider_health
#include <caf/test/unit_test.hpp>

#include "telemetry/provider_health.hpp"

using namespace backfilld;

namespace {

constexpr int64_t t0 = 1'710'000'000; // a multiple of 30 s

const provider_state& of(const std::vector<provider_state>& states,
                         const std::string& name) {
  for (const auto& s : states)
    if (s.provider == name)
      return s;
  CAF_FAIL("no state for " << name);
  return states.front();
}

} // namespace

CAF_TEST(the error window counts the last five minutes only) {
  error_window w;
  int64_t requests = 0;
  int64_t errors = 0;
  w.record(t0, true);
  w.record(t0 + 10, false);
  w.record(t0 + 299, false);
  w.totals(t0 + 299, requests, errors);
  CAF_CHECK_EQUAL(requests, 3);
  CAF_CHECK_EQUAL(errors, 1);
  // Past the window the oldest slot drops out (a slot is 30 s).
  w.totals(t0 + 300, requests, errors);
  CAF_CHECK_EQUAL(requests, 1);
  CAF_CHECK_EQUAL(errors, 0);
  w.totals(t0 + 10'000, requests, errors);
  CAF_CHECK_EQUAL(requests, 0);
}

CAF_TEST(a month of answers takes the same ring as a minute) {
  error_window w;
  // One answer a second for 30 days: the slots are reused, never added;
  // only the last five minutes count.
  for (int64_t t = t0; t < t0 + 30 * 86'400; t += 1)
    w.record(t, t % 10 == 0);
  int64_t requests = 0;
  int64_t errors = 0;
  w.totals(t0 + 30 * 86'400 - 1, requests, errors);
  CAF_CHECK_EQUAL(requests, 300);
  CAF_CHECK_EQUAL(errors, 30);
  CAF_CHECK_EQUAL(sizeof(w), error_window::slots * 3 * sizeof(int64_t));
}

CAF_TEST(a snapshot shows breakers pauses and off providers as of now) {
  provider_health h;
  h.set_breaker("yahoo", "open", t0 + 60);
  h.set_throttled("frankfurter", t0 + 20);
  h.set_breaker("frankfurter", "closed", 0);
  h.set_off("tiingo", "no API key");
  h.record("yahoo", t0, true);
  h.record("yahoo", t0 + 1, false);
  // Names outside the fixed list are never kept.
  h.record("stooq", t0, true);
  h.set_breaker("stooq", "open", t0 + 60);
  auto now = h.snapshot(t0 + 5);
  CAF_REQUIRE_EQUAL(now.size(), 3u);
  CAF_CHECK_EQUAL(of(now, "yahoo").breaker, "open");
  CAF_CHECK_EQUAL(of(now, "yahoo").open_until, t0 + 60);
  CAF_CHECK_EQUAL(of(now, "yahoo").requests, 2);
  CAF_CHECK_EQUAL(of(now, "yahoo").errors, 1);
  CAF_CHECK_EQUAL(of(now, "yahoo").window_start, t0 + 30 - 300);
  CAF_CHECK_EQUAL(of(now, "frankfurter").throttled_until, t0 + 20);
  CAF_CHECK_EQUAL(of(now, "tiingo").breaker, "off");
  CAF_CHECK_EQUAL(of(now, "tiingo").note, "no API key");
  // Later: the cool-down is over (the probe is due) and the pause ended.
  auto later = h.snapshot(t0 + 61);
  CAF_CHECK_EQUAL(of(later, "yahoo").breaker, "half-open");
  CAF_CHECK_EQUAL(of(later, "yahoo").open_until, 0);
  CAF_CHECK_EQUAL(of(later, "frankfurter").throttled_until, 0);
  // Closing clears the time.
  h.set_breaker("yahoo", "closed", t0 + 60);
  // A named snapshot: the check keeps a reference to what it compares.
  auto closed = h.snapshot(t0 + 62);
  CAF_CHECK_EQUAL(of(closed, "yahoo").open_until, 0);
}
