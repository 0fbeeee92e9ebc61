#define CAF_SUITE outbox
#include <caf/test/unit_test.hpp>

#include "queue/outbox.hpp"

using namespace backfilld;

namespace {

job_id job_of(const outcome& x) {
  if (auto done = std::get_if<done_outcome>(&x))
    return done->job;
  if (auto verdict = std::get_if<job_verdict>(&x))
    return verdict->job;
  return std::get<job_release>(x).jobs.front();
}

} // namespace

CAF_TEST(outcomes leave one at a time and in order) {
  outbox box{3};
  box.push(done_outcome{1});
  box.push(job_verdict{2, verdict_action::retry, 1000, false, "503"});
  auto first = box.send_next();
  CAF_REQUIRE(first != nullptr);
  CAF_CHECK_EQUAL(job_of(*first), 1);
  // The first is in flight: nothing overtakes it.
  CAF_CHECK(box.send_next() == nullptr);
  box.sent();
  auto second = box.send_next();
  CAF_REQUIRE(second != nullptr);
  CAF_CHECK_EQUAL(job_of(*second), 2);
  box.sent();
  CAF_CHECK(box.empty());
  CAF_CHECK(box.send_next() == nullptr);
}

CAF_TEST(outcomes wait however long the database is away) {
  outbox box{3};
  box.push(done_outcome{1});
  for (int i = 0; i < 100; ++i) {
    CAF_REQUIRE(box.send_next() != nullptr);
    CAF_CHECK(box.failed(true) == outbox::retry_or_drop::retry);
  }
  CAF_CHECK_EQUAL(box.size(), 1u);
}

CAF_TEST(an outcome refused too often is dropped and the rest go on) {
  outbox box{3};
  box.push(job_verdict{1, verdict_action::give_up, 0, false, "bad bytes"});
  box.push(done_outcome{2});
  for (int i = 0; i < 2; ++i) {
    CAF_REQUIRE(box.send_next() != nullptr);
    CAF_CHECK(box.failed(false) == outbox::retry_or_drop::retry);
  }
  CAF_REQUIRE(box.send_next() != nullptr);
  CAF_CHECK(box.failed(false) == outbox::retry_or_drop::dropped);
  auto next = box.send_next();
  CAF_REQUIRE(next != nullptr);
  CAF_CHECK_EQUAL(job_of(*next), 2);
}

CAF_TEST(refusals count anew for each outcome) {
  outbox box{2};
  box.push(done_outcome{1});
  box.push(done_outcome{2});
  box.send_next();
  CAF_CHECK(box.failed(false) == outbox::retry_or_drop::retry);
  box.send_next();
  box.sent();
  // The second outcome starts with a clean slate.
  box.send_next();
  CAF_CHECK(box.failed(false) == outbox::retry_or_drop::retry);
  CAF_CHECK_EQUAL(box.size(), 1u);
}

CAF_TEST(verdicts still waiting count as running for the heartbeat) {
  outbox box{3};
  box.push(job_verdict{1, verdict_action::retry, 1000, false, "503"});
  box.push(done_outcome{2});
  box.push(job_verdict{3, verdict_action::retry, 1000, false, "503"});
  CAF_CHECK_EQUAL(box.waiting_verdicts(), (std::vector<job_id>{1, 3}));
  // The one in flight reaches the store before any later heartbeat does.
  CAF_REQUIRE(box.send_next() != nullptr);
  CAF_CHECK_EQUAL(box.waiting_verdicts(), (std::vector<job_id>{3}));
  box.sent();
  CAF_CHECK_EQUAL(box.waiting_verdicts(), (std::vector<job_id>{3}));
}
