#define CAF_SUITE metrics_queries
#include "db/metrics_queries.hpp"
#include "queue_fixture.hpp"

using namespace backfilld;
using namespace backfilld::test;

namespace {

const kind_sample& of(const queue_sample& sample, job_kind k) {
  return sample[kind_index(k)];
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(metrics_queries_tests, queue_fixture)

CAF_TEST(an empty queue samples as zeros for every kind) {
  auto sample = sample_queue(*conn);
  for (const auto& k : sample) {
    CAF_CHECK_EQUAL(k.pending, 0);
    CAF_CHECK_EQUAL(k.due, 0);
    CAF_CHECK_EQUAL(k.running, 0);
    CAF_CHECK_EQUAL(k.failed, 0);
    CAF_CHECK_EQUAL(k.oldest_due_seconds, 0.0);
  }
}

CAF_TEST(jobs are counted by kind and state and the oldest due one is aged) {
  exec(R"sql(
    INSERT INTO backfill_jobs (asset_id, kind, state, next_attempt_at) VALUES
      (12, 'backfill', 'pending', now() - interval '100 seconds'),
      (13, 'backfill', 'pending', now() - interval '5 seconds'),
      -- Backing off: pending, but not due, so it has not waited yet.
      (15, 'backfill', 'pending', now() + interval '1 hour'),
      (14, 'backfill', 'failed', now() - interval '1 day'),
      (15, 'extend', 'running', now() - interval '1 day'),
      (12, 'extend', 'done', now() - interval '2 days'),
      (13, 'extend', 'done', now() - interval '2 days');
  )sql");
  auto sample = sample_queue(*conn);
  const auto& backfill = of(sample, job_kind::backfill);
  CAF_CHECK_EQUAL(backfill.pending, 3);
  CAF_CHECK_EQUAL(backfill.due, 2);
  CAF_CHECK_EQUAL(backfill.running, 0);
  CAF_CHECK_EQUAL(backfill.failed, 1);
  CAF_CHECK_GREATER_OR_EQUAL(backfill.oldest_due_seconds, 100.0);
  CAF_CHECK_LESS(backfill.oldest_due_seconds, 160.0);
  const auto& extend = of(sample, job_kind::extend);
  CAF_CHECK_EQUAL(extend.pending, 0);
  CAF_CHECK_EQUAL(extend.due, 0);
  CAF_CHECK_EQUAL(extend.running, 1);
  CAF_CHECK_EQUAL(extend.failed, 0);
  // A running job is not waiting for a worker.
  CAF_CHECK_EQUAL(extend.oldest_due_seconds, 0.0);
}

CAF_TEST(a sample follows the table as jobs move) {
  enqueue({12, 13});
  // Samples in variables: CAF_CHECK_EQUAL reads its arguments after the
  // full expression, when a temporary would be gone.
  auto sample = sample_queue(*conn);
  CAF_CHECK_EQUAL(of(sample, job_kind::backfill).pending, 2);
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  sample = sample_queue(*conn);
  CAF_CHECK_EQUAL(of(sample, job_kind::backfill).pending, 1);
  CAF_CHECK_EQUAL(of(sample, job_kind::backfill).running, 1);
  CAF_CHECK(finish_job(*conn, jobs[0].id, me));
  sample = sample_queue(*conn);
  CAF_CHECK_EQUAL(of(sample, job_kind::backfill).running, 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
