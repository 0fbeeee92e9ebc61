#include "policy/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace backfilld {

token_bucket::token_bucket(double rate, double burst, time_point now)
  : rate_(rate > 0 ? rate : 1),
    burst_(std::max(burst, 1.0)),
    tokens_(burst_),
    last_(now),
    paused_until_(now),
    // Before any grant the window is empty: "grants" long ago.
    recent_(std::max<size_t>(1, static_cast<size_t>(std::floor(rate_))),
            now - std::chrono::hours{1}) {
  // nop
}

token_bucket::time_point token_bucket::window_opens() const {
  return recent_[next_] + std::chrono::seconds{1};
}

void token_bucket::set_rate(double rate, time_point now) {
  refill(now);
  if (rate > 0)
    rate_ = rate;
}

void token_bucket::set_limit(double rate, double burst, time_point now) {
  refill(now);
  rate_ = rate > 0 ? rate : 1;
  burst_ = std::max(burst, 1.0);
  tokens_ = std::min(tokens_, burst_);
  auto size = std::max<size_t>(1, static_cast<size_t>(std::floor(rate_)));
  // The ring from oldest to newest grant; the newest `size` stay.
  std::vector<time_point> ordered;
  ordered.reserve(recent_.size());
  for (size_t i = 0; i < recent_.size(); ++i)
    ordered.push_back(recent_[(next_ + i) % recent_.size()]);
  std::vector<time_point> kept(size, now - std::chrono::hours{1});
  auto n = std::min(size, ordered.size());
  std::copy(ordered.end() - static_cast<std::ptrdiff_t>(n), ordered.end(),
            kept.end() - static_cast<std::ptrdiff_t>(n));
  recent_ = std::move(kept);
  next_ = 0;
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
  if (available(now) < 1.0 || now < window_opens())
    return false;
  tokens_ -= 1.0;
  recent_[next_] = now;
  next_ = (next_ + 1) % recent_.size();
  return true;
}

token_bucket::duration token_bucket::wait_time(time_point now) {
  if (now < paused_until_) {
    // The bucket refills from empty once the pause ends.
    auto after_pause = std::chrono::duration<double>(1.0 / rate_);
    return (paused_until_ - now) + std::chrono::ceil<duration>(after_pause);
  }
  refill(now);
  auto window = window_opens() > now ? window_opens() - now : duration::zero();
  if (tokens_ >= 1.0)
    return window;
  std::chrono::duration<double> missing{(1.0 - tokens_) / rate_};
  return std::max(window, std::chrono::ceil<duration>(missing));
}

void token_bucket::pause_until(time_point until) {
  if (until > paused_until_)
    paused_until_ = until;
  tokens_ = 0;
  if (last_ < paused_until_)
    last_ = paused_until_;
}

} // namespace backfilld
