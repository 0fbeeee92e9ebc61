#include "telemetry/provider_health.hpp"

#include <iterator>

#include "telemetry/counters.hpp"

namespace backfilld {

void error_window::record(int64_t now, bool error) {
  auto index = now / slot_seconds;
  auto& s = ring_[static_cast<size_t>(index) % slots];
  if (s.index != index)
    s = slot{index, 0, 0};
  ++s.requests;
  if (error)
    ++s.errors;
}

void error_window::totals(int64_t now, int64_t& requests,
                          int64_t& errors) const {
  requests = 0;
  errors = 0;
  auto newest = now / slot_seconds;
  for (const auto& s : ring_) {
    if (s.index < 0 || s.index > newest ||
        s.index <= newest - static_cast<int64_t>(slots))
      continue;
    requests += s.requests;
    errors += s.errors;
  }
}

provider_health::entry* provider_health::find(std::string_view provider) {
  if (auto i = entries_.find(provider); i != entries_.end())
    return &i->second;
  for (auto known : metric_providers)
    if (provider == known) {
      auto& e = entries_[std::string{provider}];
      e.state.provider = std::string{provider};
      return &e;
    }
  return nullptr;
}

void provider_health::set_breaker(std::string_view provider,
                                  std::string_view state, int64_t open_until) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto e = find(provider)) {
    e->state.breaker = std::string{state};
    e->state.open_until = state == "open" ? open_until : 0;
    e->state.note.clear();
  }
}

void provider_health::set_throttled(std::string_view provider, int64_t until) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto e = find(provider))
    e->state.throttled_until = until;
}

void provider_health::set_off(std::string_view provider, std::string why) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto e = find(provider)) {
    e->state.breaker = "off";
    e->state.note = std::move(why);
  }
}

void provider_health::record(std::string_view provider, int64_t now,
                             bool error) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto e = find(provider))
    e->window.record(now, error);
}

std::vector<provider_state> provider_health::snapshot(int64_t now) const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<provider_state> result;
  result.reserve(entries_.size());
  for (const auto& [name, e] : entries_) {
    auto s = e.state;
    if (s.breaker == "open" && s.open_until <= now) {
      s.breaker = "half-open";
      s.open_until = 0;
    }
    if (s.throttled_until <= now)
      s.throttled_until = 0;
    e.window.totals(now, s.requests, s.errors);
    s.window_start =
      (now / error_window::slot_seconds - error_window::slots + 1) *
      error_window::slot_seconds;
    result.push_back(std::move(s));
  }
  return result;
}

void provider_health::clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  entries_.clear();
}

provider_health& provider_states() {
  static provider_health instance;
  return instance;
}

} // namespace backfilld
