// A Prometheus histogram with fixed buckets: one atomic per bucket, so that
// actors on any thread observe without a lock or a message, and its memory
// never grows with uptime.

#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace backfilld {

template <size_t N>
class histogram {
 public:
  /// Upper bounds in seconds, ascending; `+Inf` is implied.
  explicit constexpr histogram(std::array<double, N> bounds)
    : bounds_(bounds) {
    // nop
  }

  void observe(std::chrono::nanoseconds elapsed) {
    auto seconds = std::chrono::duration<double>(elapsed).count();
    size_t i = 0;
    while (i < N && seconds > bounds_[i])
      ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    // Microseconds in an integer: C++17 has no atomic fetch_add on double.
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed);
    sum_us_.fetch_add(static_cast<uint64_t>(us.count() < 0 ? 0 : us.count()),
                      std::memory_order_relaxed);
  }

  static constexpr size_t buckets = N;

  double bound(size_t i) const {
    return bounds_[i];
  }

  /// Observations in bucket `i` alone (not cumulative); `i == N` is +Inf.
  uint64_t count_in(size_t i) const {
    return counts_[i].load(std::memory_order_relaxed);
  }

  double sum_seconds() const {
    return static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6;
  }

 private:
  std::array<double, N> bounds_;
  std::array<std::atomic<uint64_t>, N + 1> counts_{};
  std::atomic<uint64_t> sum_us_{0};
};

/// Measures from construction; `elapsed()` when the work is done.
class stopwatch {
 public:
  stopwatch()
    : start_(std::chrono::steady_clock::now()) {
    // nop
  }

  std::chrono::nanoseconds elapsed() const {
    return std::chrono::steady_clock::now() - start_;
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

} // namespace backfilld
