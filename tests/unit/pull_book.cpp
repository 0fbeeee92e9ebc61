#define CAF_SUITE pull_book
#include <caf/test/unit_test.hpp>

#include <string>

#include "queue/pull_book.hpp"

using namespace backfilld;

namespace {

using book = pull_book<int, std::string>;

std::vector<backfill_job> jobs(std::vector<job_id> ids) {
  std::vector<backfill_job> result;
  for (auto id : ids) {
    backfill_job job;
    job.id = id;
    result.push_back(job);
  }
  return result;
}

} // namespace

CAF_TEST(pulls are served oldest first) {
  book b;
  CAF_CHECK(b.oldest() == nullptr);
  auto first = b.park(1, 4, "one");
  b.park(2, 2, "two");
  CAF_REQUIRE(b.oldest() != nullptr);
  CAF_CHECK_EQUAL(b.oldest()->id, first);
  CAF_CHECK_EQUAL(b.oldest()->capacity, 4u);
  auto taken = b.take(first);
  CAF_REQUIRE(taken);
  CAF_CHECK_EQUAL(taken->reply, "one");
  CAF_CHECK_EQUAL(b.oldest()->holder, 2);
  // Taken once only.
  CAF_CHECK(!b.take(first));
}

CAF_TEST(handed jobs are held in the name of their holder until reported) {
  book b;
  auto id = b.park(1, 3, "r");
  auto pull = b.take(id);
  b.hand_over(*pull, jobs({10, 11}));
  CAF_CHECK(b.knows(1));
  CAF_CHECK_EQUAL(b.held_count(), 2u);
  b.forget(1, 10);
  CAF_CHECK_EQUAL(b.all_held(), std::vector<job_id>{11});
}

CAF_TEST(what a holder says it holds replaces what we knew) {
  book b;
  b.hold(1, 5);
  b.holds_exactly(1, {7, 8});
  CAF_CHECK_EQUAL(b.all_held(), std::vector<job_id>({7, 8}));
}

CAF_TEST(a holder that is gone takes its pulls and gives back its jobs) {
  book b;
  b.hold(1, 5);
  b.hold(2, 6);
  auto gone = b.park(1, 2, "gone");
  b.park(2, 2, "stays");
  CAF_CHECK_EQUAL(b.drop_holder(1), std::vector<job_id>{5});
  CAF_CHECK(!b.knows(1));
  CAF_CHECK(!b.take(gone));
  CAF_CHECK_EQUAL(b.oldest()->reply, "stays");
  CAF_CHECK_EQUAL(b.all_held(), std::vector<job_id>{6});
}

CAF_TEST(shutdown takes every pull and every held job) {
  book b;
  b.hold(1, 5);
  b.hold(2, 6);
  b.park(1, 1, "a");
  b.park(2, 1, "b");
  CAF_CHECK_EQUAL(b.take_all().size(), 2u);
  CAF_CHECK(b.oldest() == nullptr);
  CAF_CHECK_EQUAL(b.release_all(), std::vector<job_id>({5, 6}));
  CAF_CHECK_EQUAL(b.held_count(), 0u);
}
