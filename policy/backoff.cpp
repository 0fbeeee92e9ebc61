#include "policy/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace backfilld {

std::chrono::milliseconds backoff_delay(const backoff_policy& policy,
                                        int32_t attempts,
                                        std::mt19937_64& rng) {
  auto exponent = std::max(attempts, 1) - 1;
  auto raw = static_cast<double>(policy.base.count()) *
             std::pow(std::max(policy.factor, 1.0), exponent);
  auto capped = std::min(raw, static_cast<double>(policy.cap.count()));
  auto half = capped / 2;
  std::uniform_real_distribution<double> jitter{0.0, half};
  return std::chrono::milliseconds{static_cast<int64_t>(half + jitter(rng))};
}

bool exhausted(const backoff_policy& policy, int32_t attempts) {
  return attempts >= policy.max_attempts;
}

restart_window::restart_window(int32_t max_restarts, clock::duration window)
  : max_restarts_(max_restarts),
    window_(window) {
  // nop
}

bool restart_window::record(clock::time_point now) {
  while (!restarts_.empty() && now - restarts_.front() > window_)
    restarts_.pop_front();
  restarts_.push_back(now);
  return static_cast<int32_t>(restarts_.size()) <= max_restarts_;
}

} // namespace backfilld
