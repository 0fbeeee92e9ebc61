#define CAF_SUITE adaptive_rate
#include <caf/test/unit_test.hpp>

#include "policy/adaptive_rate.hpp"

using namespace backfilld;
using namespace std::chrono_literals;

namespace {

const adaptive_rate::time_point t0{std::chrono::hours{1}};

} // namespace

CAF_TEST(starts at the configured rate and successes do not exceed it) {
  adaptive_rate r{10.0, t0};
  CAF_CHECK_EQUAL(r.rate(), 10.0);
  r.succeeded(t0 + 5s);
  CAF_CHECK_EQUAL(r.rate(), 10.0);
}

CAF_TEST(a 429 halves the rate down to the floor) {
  adaptive_rate r{16.0, t0};
  r.throttled(t0);
  CAF_CHECK_EQUAL(r.rate(), 8.0);
  r.throttled(t0 + 1s);
  CAF_CHECK_EQUAL(r.rate(), 4.0);
  for (int i = 2; i < 10; ++i)
    r.throttled(t0 + std::chrono::seconds{i});
  CAF_CHECK_EQUAL(r.rate(), 1.0);
  CAF_CHECK_EQUAL(r.floor(), 1.0);
}

CAF_TEST(the 429s of one burst count once) {
  adaptive_rate r{16.0, t0};
  r.throttled(t0);
  r.throttled(t0 + 10ms);
  r.throttled(t0 + 999ms);
  CAF_CHECK_EQUAL(r.rate(), 8.0);
}

CAF_TEST(successes add a tenth of the ceiling a second) {
  adaptive_rate r{10.0, t0};
  r.throttled(t0);
  CAF_CHECK_EQUAL(r.rate(), 5.0);
  // Successes within the second of the 429 change nothing.
  r.succeeded(t0 + 500ms);
  CAF_CHECK_EQUAL(r.rate(), 5.0);
  r.succeeded(t0 + 1s);
  CAF_CHECK_EQUAL(r.rate(), 6.0);
  // Many successes in one second are one step.
  r.succeeded(t0 + 1100ms);
  r.succeeded(t0 + 1900ms);
  CAF_CHECK_EQUAL(r.rate(), 6.0);
  for (int i = 2; i < 20; ++i)
    r.succeeded(t0 + std::chrono::seconds{i});
  CAF_CHECK_EQUAL(r.rate(), 10.0);
}

CAF_TEST(a 429 while recovering halves the current rate) {
  adaptive_rate r{10.0, t0};
  r.throttled(t0);
  r.succeeded(t0 + 1s);
  r.succeeded(t0 + 2s);
  CAF_CHECK_EQUAL(r.rate(), 7.0);
  r.throttled(t0 + 3s);
  CAF_CHECK_EQUAL(r.rate(), 3.5);
}

CAF_TEST(a 429 right after a step up still counts) {
  adaptive_rate r{10.0, t0};
  r.throttled(t0);
  r.succeeded(t0 + 1s);
  r.throttled(t0 + 1100ms);
  CAF_CHECK_EQUAL(r.rate(), 3.0);
}

CAF_TEST(a new ceiling keeps how far below it a throttled provider is) {
  adaptive_rate r{10.0, t0};
  r.throttled(t0);
  r.set_ceiling(4.0);
  CAF_CHECK_EQUAL(r.ceiling(), 4.0);
  CAF_CHECK_EQUAL(r.rate(), 2.0);
  for (int i = 1; i < 20; ++i)
    r.succeeded(t0 + std::chrono::seconds{i});
  CAF_CHECK_EQUAL(r.rate(), 4.0);
  r.set_ceiling(8.0);
  CAF_CHECK_EQUAL(r.rate(), 8.0);
}
