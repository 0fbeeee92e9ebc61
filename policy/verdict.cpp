#include "policy/verdict.hpp"

#include <algorithm>

namespace backfilld {

namespace {

/// The longest reason kept; provider text can be anything.
constexpr size_t max_reason = 500;

} // namespace

std::string printable_reason(std::string_view text) {
  std::string result;
  result.reserve(std::min(text.size(), max_reason));
  for (auto c : text) {
    if (result.size() >= max_reason)
      break;
    // Control characters (NUL in particular, which PostgreSQL refuses in
    // text) become spaces; UTF-8 bytes pass: the parsers validate encoding.
    auto u = static_cast<unsigned char>(c);
    result += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  // Never end inside a multi-byte UTF-8 sequence: find where the last
  // character starts and drop it if it was cut.
  auto byte = [&](size_t i) {
    return static_cast<unsigned char>(result[i]);
  };
  auto start = result.size();
  while (start > 0 && (byte(start - 1) & 0xC0) == 0x80)
    --start;
  if (start > 0) {
    auto lead = byte(start - 1);
    size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (start - 1 + length > result.size())
      result.resize(start - 1);
  }
  return result;
}

job_verdict decide(const backfill_job& job, const job_failure& failure,
                   const retry_policy& policy, std::mt19937_64& rng) {
  job_verdict verdict;
  verdict.job = job.id;
  verdict.reason = printable_reason(failure.reason);
  switch (failure.kind) {
  case failure_kind::permanent:
    verdict.action = verdict_action::give_up_permanent;
    break;
  case failure_kind::throttled:
    verdict.refund_attempt = true;
    verdict.delay_ms = failure.retry_after_ms > 0
                         ? failure.retry_after_ms
                         : policy.throttle_delay.count();
    break;
  case failure_kind::transient:
    if (exhausted(policy.backoff, job.attempts)) {
      verdict.action = verdict_action::give_up;
      verdict.reason =
        printable_reason("gave up after " + std::to_string(job.attempts) +
                         " attempts: " + failure.reason);
    } else {
      verdict.delay_ms =
        backoff_delay(policy.backoff, job.attempts, rng).count();
    }
    break;
  }
  return verdict;
}

} // namespace backfilld
