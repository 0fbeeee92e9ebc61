#include "policy/adaptive_rate.hpp"

#include <algorithm>

namespace backfilld {

namespace {

constexpr auto one_second = std::chrono::seconds{1};

} // namespace

adaptive_rate::adaptive_rate(double ceiling, time_point now)
  : ceiling_(ceiling > 0 ? ceiling : 1),
    rate_(ceiling_),
    // Long ago: the first 429 always counts.
    changed_(now - std::chrono::hours{1}),
    last_throttle_(changed_) {
  // nop
}

void adaptive_rate::set_ceiling(double ceiling) {
  auto fraction = rate_ / ceiling_;
  ceiling_ = ceiling > 0 ? ceiling : 1;
  rate_ = std::clamp(fraction * ceiling_, floor(), ceiling_);
}

void adaptive_rate::throttled(time_point now) {
  if (now - last_throttle_ < one_second)
    return;
  rate_ = std::max(floor(), rate_ / 2);
  changed_ = now;
  last_throttle_ = now;
}

void adaptive_rate::succeeded(time_point now) {
  if (rate_ >= ceiling_ || now - changed_ < one_second)
    return;
  rate_ = std::min(ceiling_, rate_ + ceiling_ / 10);
  changed_ = now;
}

} // namespace backfilld
