#include "policy/verdict.hpp"

#include <algorithm>

namespace backfilld {

job_verdict decide(const backfill_job& job, const job_failure& failure,
                   const retry_policy& policy, std::mt19937_64& rng) {
  job_verdict verdict;
  verdict.job = job.id;
  verdict.reason = failure.reason;
  switch (failure.kind) {
  case failure_kind::permanent:
    verdict.give_up = true;
    break;
  case failure_kind::throttled:
    verdict.refund_attempt = true;
    verdict.delay_ms = failure.retry_after_ms > 0
                         ? failure.retry_after_ms
                         : policy.throttle_delay.count();
    break;
  case failure_kind::transient:
    if (exhausted(policy.backoff, job.attempts)) {
      verdict.give_up = true;
      verdict.reason = "gave up after " + std::to_string(job.attempts) +
                       " attempts: " + failure.reason;
    } else {
      verdict.delay_ms =
        backoff_delay(policy.backoff, job.attempts, rng).count();
    }
    break;
  }
  return verdict;
}

} // namespace backfilld
