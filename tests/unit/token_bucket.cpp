#define CAF_SUITE token_bucket
#include <caf/test/unit_test.hpp>

#include "policy/token_bucket.hpp"

#include <algorithm>
#include <vector>

using namespace backfilld;
using namespace std::chrono_literals;

namespace {

const token_bucket::time_point t0{std::chrono::hours{1}};

} // namespace

CAF_TEST(a full bucket allows a burst then the rate) {
  token_bucket bucket{4.0, 3.0, t0};
  CAF_CHECK(bucket.try_take(t0));
  CAF_CHECK(bucket.try_take(t0));
  CAF_CHECK(bucket.try_take(t0));
  CAF_CHECK(!bucket.try_take(t0));
  CAF_CHECK_EQUAL(bucket.wait_time(t0), token_bucket::duration{250ms});
  CAF_CHECK(!bucket.try_take(t0 + 249ms));
  CAF_CHECK(bucket.try_take(t0 + 250ms));
  CAF_CHECK(!bucket.try_take(t0 + 250ms));
}

namespace {

/// The most grants in any half-open window (t - 1 s, t], the way a provider
/// (and bench/e2e.py) counts them.
size_t busiest_second(const std::vector<token_bucket::time_point>& grants) {
  size_t busiest = 0;
  size_t j = 0;
  for (size_t i = 0; i < grants.size(); ++i) {
    while (grants[j] <= grants[i] - 1s)
      ++j;
    busiest = std::max(busiest, i - j + 1);
  }
  return busiest;
}

} // namespace

CAF_TEST(a burst never puts more than the rate into one second) {
  // The benchmark's 21 at R = 20: a full bucket at start plus the second's
  // refill. A burst of 5 on top of the rate makes it 25 without the window.
  token_bucket bucket{20.0, 5.0, t0};
  std::vector<token_bucket::time_point> grants;
  for (int ms = 0; ms < 10'000; ++ms) {
    auto now = t0 + std::chrono::milliseconds{ms};
    while (bucket.try_take(now))
      grants.push_back(now);
  }
  CAF_CHECK_EQUAL(busiest_second(grants), 20u);
  // Still the rate over the run: the window only trims the edges.
  CAF_CHECK_GREATER_OR_EQUAL(grants.size(), 199u);
  CAF_CHECK_LESS_OR_EQUAL(grants.size(), 201u);
}

CAF_TEST(the wait covers the window as well as the tokens) {
  token_bucket bucket{2.0, 5.0, t0};
  CAF_CHECK(bucket.try_take(t0));
  CAF_CHECK(bucket.try_take(t0 + 100ms));
  // Three tokens left, but two grants in the past second.
  CAF_CHECK(!bucket.try_take(t0 + 500ms));
  CAF_CHECK_EQUAL(bucket.wait_time(t0 + 500ms), token_bucket::duration{500ms});
  CAF_CHECK(bucket.try_take(t0 + 1s));
  CAF_CHECK(!bucket.try_take(t0 + 1s));
}

CAF_TEST(below one request a second the window allows one) {
  token_bucket bucket{0.25, 3.0, t0};
  CAF_CHECK_EQUAL(bucket.per_second(), 1u);
  CAF_CHECK(bucket.try_take(t0));
  CAF_CHECK(!bucket.try_take(t0 + 999ms));
  CAF_CHECK(bucket.try_take(t0 + 1s));
}

CAF_TEST(never more than the rate over a long run) {
  token_bucket bucket{5.0, 1.0, t0};
  int granted = 0;
  // Ask every millisecond for ten seconds.
  for (int ms = 0; ms < 10'000; ++ms)
    if (bucket.try_take(t0 + std::chrono::milliseconds{ms}))
      ++granted;
  CAF_CHECK_LESS_OR_EQUAL(granted, 51); // 1 (burst) + 5/s * 10 s
  CAF_CHECK_GREATER_OR_EQUAL(granted, 49);
}

CAF_TEST(refill stops at the burst size) {
  token_bucket bucket{10.0, 2.0, t0};
  CAF_CHECK_EQUAL(bucket.available(t0 + 1h), 2.0);
}

CAF_TEST(a pause empties the bucket and grants nothing until it ends) {
  token_bucket bucket{1.0, 5.0, t0};
  bucket.pause_until(t0 + 30s);
  CAF_CHECK(!bucket.try_take(t0));
  CAF_CHECK(!bucket.try_take(t0 + 29s));
  CAF_CHECK_EQUAL(bucket.wait_time(t0 + 10s), token_bucket::duration{21s});
  // Refilling starts from empty when the pause ends.
  CAF_CHECK(!bucket.try_take(t0 + 30s));
  CAF_CHECK(bucket.try_take(t0 + 31s));
  CAF_CHECK(!bucket.try_take(t0 + 31s));
}

CAF_TEST(an earlier pause does not shorten a later one) {
  token_bucket bucket{1.0, 1.0, t0};
  bucket.pause_until(t0 + 60s);
  bucket.pause_until(t0 + 10s);
  CAF_CHECK(!bucket.try_take(t0 + 20s));
}

CAF_TEST(a lower limit takes effect at once and lets no burst through) {
  token_bucket bucket{10.0, 10.0, t0};
  std::vector<token_bucket::time_point> grants;
  for (int i = 0; i < 4; ++i) {
    CAF_REQUIRE(bucket.try_take(t0));
    grants.push_back(t0);
  }
  // The share dropped to 2/s: the 4 grants of this second already exceed
  // it, so nothing more until they are a second old.
  bucket.set_limit(2.0, 2.0, t0);
  CAF_CHECK(!bucket.try_take(t0 + 500ms));
  CAF_CHECK_EQUAL(bucket.per_second(), 2u);
  auto t = t0;
  for (int step = 0; step < 4'000; ++step, t += 1ms)
    if (bucket.try_take(t))
      grants.push_back(t);
  // Over the 4 s after the change: 2/s, never more than 2 in a second
  // once the earlier grants left the window.
  std::vector<token_bucket::time_point> after;
  std::copy_if(grants.begin(), grants.end(), std::back_inserter(after),
               [](auto g) { return g > t0; });
  CAF_CHECK_GREATER_OR_EQUAL(after.size(), 6u);
  CAF_CHECK_LESS_OR_EQUAL(after.size(), 8u);
  CAF_CHECK_LESS_OR_EQUAL(busiest_second(after), 2u);
  CAF_CHECK_GREATER_OR_EQUAL(after.front(), t0 + 1s);
}

CAF_TEST(a new limit keeps a pause) {
  token_bucket bucket{5.0, 5.0, t0};
  bucket.pause_until(t0 + 10s);
  bucket.set_limit(2.0, 2.0, t0 + 1s);
  CAF_CHECK(!bucket.try_take(t0 + 9s));
  CAF_CHECK(!bucket.try_take(t0 + 10s));
  CAF_CHECK(bucket.try_take(t0 + 10s + 500ms));
}

CAF_TEST(a higher limit raises the rate and the window) {
  token_bucket bucket{1.0, 1.0, t0};
  CAF_CHECK(bucket.try_take(t0));
  bucket.set_limit(4.0, 2.0, t0);
  CAF_CHECK_EQUAL(bucket.per_second(), 4u);
  CAF_CHECK(!bucket.try_take(t0 + 200ms));
  CAF_CHECK(bucket.try_take(t0 + 250ms));
}
