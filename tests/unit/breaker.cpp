#define CAF_SUITE breaker
#include <caf/test/unit_test.hpp>

#include "policy/breaker.hpp"

using namespace backfilld;
using namespace std::chrono_literals;

namespace {

using state = circuit_breaker::state;

const circuit_breaker::time_point t0{std::chrono::hours{1}};

breaker_settings settings() {
  breaker_settings s;
  s.failures = 3;
  s.cool_down = 10s;
  s.successes = 2;
  return s;
}

/// A breaker opened at `t0` by consecutive failures.
circuit_breaker opened() {
  circuit_breaker b{settings()};
  for (int i = 0; i < 3; ++i)
    b.failed(t0);
  return b;
}

} // namespace

CAF_TEST(consecutive failures open the breaker) {
  circuit_breaker b{settings()};
  b.failed(t0);
  b.failed(t0);
  CAF_CHECK_EQUAL(b.current(), state::closed);
  CAF_CHECK(b.let_through(t0));
  b.failed(t0);
  CAF_CHECK_EQUAL(b.current(), state::open);
  CAF_CHECK(!b.let_through(t0));
  CAF_CHECK(b.open_until() == t0 + 10s);
}

CAF_TEST(a success in between resets the count) {
  circuit_breaker b{settings()};
  b.failed(t0);
  b.failed(t0);
  b.succeeded();
  b.failed(t0);
  b.failed(t0);
  CAF_CHECK_EQUAL(b.current(), state::closed);
  b.failed(t0);
  CAF_CHECK_EQUAL(b.current(), state::open);
}

CAF_TEST(open it refuses until the cool-down ends then lets one probe) {
  auto b = opened();
  CAF_CHECK(!b.let_through(t0 + 9999ms));
  CAF_CHECK(b.let_through(t0 + 10s));
  CAF_CHECK_EQUAL(b.current(), state::half_open);
  // The probe is out: nobody else goes.
  CAF_CHECK(!b.let_through(t0 + 10s));
  CAF_CHECK(!b.let_through(t0 + 20s));
}

CAF_TEST(good probes close it after the configured successes) {
  auto b = opened();
  CAF_REQUIRE(b.let_through(t0 + 10s));
  b.succeeded();
  CAF_CHECK_EQUAL(b.current(), state::half_open);
  CAF_REQUIRE(b.let_through(t0 + 10s));
  CAF_CHECK(!b.let_through(t0 + 10s));
  b.succeeded();
  CAF_CHECK_EQUAL(b.current(), state::closed);
  CAF_CHECK(b.let_through(t0 + 10s));
  CAF_CHECK(b.let_through(t0 + 10s));
}

CAF_TEST(a failed probe opens it for another cool-down) {
  auto b = opened();
  CAF_REQUIRE(b.let_through(t0 + 12s));
  b.failed(t0 + 13s);
  CAF_CHECK_EQUAL(b.current(), state::open);
  CAF_CHECK(b.open_until() == t0 + 23s);
  CAF_CHECK(!b.let_through(t0 + 22s));
  CAF_CHECK(b.let_through(t0 + 23s));
}

CAF_TEST(an abandoned probe frees the slot) {
  auto b = opened();
  CAF_REQUIRE(b.let_through(t0 + 10s));
  b.abandoned();
  CAF_CHECK(b.let_through(t0 + 10s));
}

CAF_TEST(late answers of an open breaker change nothing) {
  auto b = opened();
  b.succeeded();
  b.failed(t0 + 5s);
  CAF_CHECK_EQUAL(b.current(), state::open);
  CAF_CHECK(b.open_until() == t0 + 10s);
}

CAF_TEST(an outage costs one request per cool-down) {
  auto b = opened();
  int sent = 0;
  // Every 100 ms for a minute, every probe failing.
  for (int ms = 0; ms < 60'000; ms += 100) {
    auto now = t0 + std::chrono::milliseconds{ms};
    if (b.let_through(now)) {
      ++sent;
      b.failed(now);
    }
  }
  CAF_CHECK_EQUAL(sent, 5); // at 10 s, 20 s, … 50 s
}
