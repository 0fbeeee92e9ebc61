#include "policy/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace backfilld {

token_bucket::token_bucket(double rate, double burst, time_point now)
  : rate_(rate > 0 ? rate : 1),
    burst_(std::max(burst, 1.0)),
    tokens_(burst_),
    last_(now),
    paused_until_(now) {
  // nop
}

void token_bucket::refill(time_point now) {
  if (now < paused_until_) {
    tokens_ = 0;
    last_ = paused_until_;
    return;
  }
  if (now > last_) {
    std::chrono::duration<double> elapsed = now - last_;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
    last_ = now;
  }
}

double token_bucket::available(time_point now) {
  refill(now);
  return now < paused_until_ ? 0 : tokens_;
}

bool token_bucket::try_take(time_point now) {
  if (available(now) < 1.0)
    return false;
  tokens_ -= 1.0;
  return true;
}

token_bucket::duration token_bucket::wait_time(time_point now) {
  if (now < paused_until_) {
    // The bucket refills from empty once the pause ends.
    auto after_pause = std::chrono::duration<double>(1.0 / rate_);
    return (paused_until_ - now) + std::chrono::ceil<duration>(after_pause);
  }
  refill(now);
  if (tokens_ >= 1.0)
    return duration::zero();
  std::chrono::duration<double> missing{(1.0 - tokens_) / rate_};
  return std::chrono::ceil<duration>(missing);
}

void token_bucket::pause_until(time_point until) {
  if (until > paused_until_)
    paused_until_ = until;
  tokens_ = 0;
  if (last_ < paused_until_)
    last_ = paused_until_;
}

} // namespace backfilld
