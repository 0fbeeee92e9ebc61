#define CAF_SUITE rate_limiter
#include "actor_fixture.hpp"

#include <caf/stateful_actor.hpp>

#include "actors/rate_limiter.hpp"
#include "telemetry/counters.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

namespace {

/// A fetch that asks for `n` grants at once and counts what it gets.
caf::behavior client(caf::event_based_actor* self, rate_limiter_actor limiter,
                     int n, std::shared_ptr<int> granted) {
  for (int i = 0; i < n; ++i)
    self->request(limiter, caf::infinite, atom::acquire_v)
      .then([=](atom::grant) { ++*granted; });
  return idle_behavior();
}

/// A fetch that asks for `n` grants, each given up after `patience`, and
/// counts what it gets and what timed out.
caf::behavior impatient_client(caf::event_based_actor* self,
                               rate_limiter_actor limiter, int n,
                               caf::timespan patience,
                               std::shared_ptr<int> granted,
                               std::shared_ptr<int> timed_out) {
  for (int i = 0; i < n; ++i)
    self->request(limiter, patience, atom::acquire_v)
      .then([=](atom::grant) { ++*granted; },
            [=](caf::error&) { ++*timed_out; });
  return idle_behavior();
}

struct fixture : actor_fixture {
  std::shared_ptr<int> granted = std::make_shared<int>(0);

  rate_limiter_actor limiter(double rate, double burst) {
    return start(rate_limiter, rate_limiter_settings{rate, burst});
  }

  rate_limiter_state& hdl_state(const rate_limiter_actor& hdl) {
    return deref<
             caf::stateful_actor<rate_limiter_state, rate_limiter_actor::base>>(
             hdl)
      .state;
  }

  void ask(const rate_limiter_actor& hdl, int n) {
    start(client, hdl, n, granted);
    settle();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(rate_limiter_tests, fixture)

CAF_TEST(a burst goes out at once and the rest at the rate) {
  auto hdl = limiter(2.0, 3.0);
  ask(hdl, 10);
  CAF_CHECK_EQUAL(*granted, 3);
  wait(499ms);
  CAF_CHECK_EQUAL(*granted, 3);
  wait(1ms);
  CAF_CHECK_EQUAL(*granted, 4);
  wait(500ms);
  CAF_CHECK_EQUAL(*granted, 5);
  for (int i = 0; i < 5; ++i)
    wait(500ms);
  CAF_CHECK_EQUAL(*granted, 10);
}

CAF_TEST(never more than the rate over a long run) {
  auto hdl = limiter(4.0, 2.0);
  ask(hdl, 1000);
  for (int second = 1; second <= 20; ++second) {
    for (int slice = 0; slice < 20; ++slice)
      wait(50ms);
    // Two tokens of burst, then four a second.
    CAF_CHECK_LESS_OR_EQUAL(*granted, 2 + 4 * second);
  }
  // Timers that fire late lose a little, never more than a tenth.
  CAF_CHECK_GREATER_OR_EQUAL(*granted, 2 + 4 * 20 * 9 / 10);
}

CAF_TEST(a throttle holds every grant until it ends) {
  auto hdl = limiter(10.0, 1.0);
  ask(hdl, 1);
  CAF_CHECK_EQUAL(*granted, 1);
  self->send(hdl, atom::throttle_v, caf::timespan{30s});
  settle();
  ask(hdl, 3);
  wait(29s);
  CAF_CHECK_EQUAL(*granted, 1);
  for (int slice = 0; slice < 20; ++slice)
    wait(100ms);
  CAF_CHECK_EQUAL(*granted, 4);
}

CAF_TEST(a request whose asker stopped waiting burns no token) {
  auto hdl = start(rate_limiter, rate_limiter_settings{1.0, 1.0, 2500ms});
  auto timed_out = std::make_shared<int>(0);
  start(impatient_client, hdl, 5, caf::timespan{2500ms}, granted, timed_out);
  settle();
  CAF_CHECK_EQUAL(*granted, 1);
  wait(1s);
  CAF_CHECK_EQUAL(*granted, 2);
  wait(1s);
  CAF_CHECK_EQUAL(*granted, 3);
  // The other two give up before the next token.
  wait(500ms);
  CAF_CHECK_EQUAL(*timed_out, 2);
  CAF_CHECK_EQUAL(hdl_state(hdl).waiting.size(), 2u);
  // A fresh asker gets the next token, not the abandoned requests.
  auto fresh = std::make_shared<int>(0);
  start(client, hdl, 1, fresh);
  settle();
  wait(500ms);
  CAF_CHECK_EQUAL(*fresh, 1);
  CAF_CHECK_EQUAL(*granted, 3);
  CAF_CHECK(hdl_state(hdl).waiting.empty());
  CAF_CHECK_EQUAL(hdl_state(hdl).expired, 2u);
}

CAF_TEST(waits are counted and timed and immediate grants are not) {
  auto& m = metrics();
  auto waits = m.limiter_waits.load();
  auto observed = m.limiter_wait_seconds.count_in(0);
  for (size_t i = 1; i <= decltype(m.limiter_wait_seconds)::buckets; ++i)
    observed += m.limiter_wait_seconds.count_in(i);
  auto sum = m.limiter_wait_seconds.sum_seconds();
  auto hdl = limiter(2.0, 2.0);
  // Two from the burst at once; the third waits 500 ms, the fourth 1 s.
  ask(hdl, 4);
  CAF_CHECK_EQUAL(*granted, 2);
  CAF_CHECK_EQUAL(m.limiter_waits.load(), waits + 2);
  for (int slice = 0; slice < 10; ++slice)
    wait(100ms);
  CAF_CHECK_EQUAL(*granted, 4);
  auto now_observed = m.limiter_wait_seconds.count_in(0);
  for (size_t i = 1; i <= decltype(m.limiter_wait_seconds)::buckets; ++i)
    now_observed += m.limiter_wait_seconds.count_in(i);
  CAF_CHECK_EQUAL(now_observed, observed + 2);
  CAF_CHECK_GREATER_OR_EQUAL(m.limiter_wait_seconds.sum_seconds() - sum, 1.49);
  CAF_CHECK_LESS_OR_EQUAL(m.limiter_wait_seconds.sum_seconds() - sum, 1.51);
  // Still counted once each: a grant is not a second wait.
  CAF_CHECK_EQUAL(m.limiter_waits.load(), waits + 2);
}

CAF_TEST(an abandoned wait is counted as expired) {
  auto expired = metrics().limiter_expired.load();
  auto hdl = start(rate_limiter, rate_limiter_settings{1.0, 1.0, 500ms});
  auto timed_out = std::make_shared<int>(0);
  start(impatient_client, hdl, 2, caf::timespan{500ms}, granted, timed_out);
  settle();
  wait(1s);
  CAF_CHECK_EQUAL(*granted, 1);
  CAF_CHECK_EQUAL(*timed_out, 1);
  CAF_CHECK_EQUAL(metrics().limiter_expired.load(), expired + 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
