#define CAF_SUITE token_bucket
#include <caf/test/unit_test.hpp>

#include "policy/token_bucket.hpp"

using namespace backfilld;
using namespace std::chrono_literals;

namespace {

const token_bucket::time_point t0{std::chrono::hours{1}};

} // namespace

CAF_TEST(a full bucket allows a burst then the rate) {
  token_bucket bucket{2.0, 3.0, t0};
  CAF_CHECK(bucket.try_take(t0));
  CAF_CHECK(bucket.try_take(t0));
  CAF_CHECK(bucket.try_take(t0));
  CAF_CHECK(!bucket.try_take(t0));
  CAF_CHECK_EQUAL(bucket.wait_time(t0), token_bucket::duration{500ms});
  CAF_CHECK(!bucket.try_take(t0 + 499ms));
  CAF_CHECK(bucket.try_take(t0 + 500ms));
  CAF_CHECK(!bucket.try_take(t0 + 500ms));
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
