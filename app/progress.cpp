#include "app/progress.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace backfilld {

namespace {

/// Erases the rest of a terminal line (ANSI "erase in line").
constexpr const char* clear_to_end = "\x1b[K";

std::string two_digits(int64_t x) {
  return (x < 10 ? "0" : "") + std::to_string(x);
}

std::string rate_text(double per_second) {
  char buf[32];
  std::snprintf(buf, sizeof buf, per_second < 10 ? "%.1f" : "%.0f", per_second);
  return buf;
}

/// "3/10 jobs, 1234 rows".
std::string counts_text(const progress_counts& counts) {
  auto text =
    std::to_string(counts.done) + "/" + std::to_string(counts.total) + " jobs";
  if (counts.rows > 0)
    text += ", " + std::to_string(counts.rows) + " rows";
  return text;
}

} // namespace

std::string human_duration(std::chrono::seconds d) {
  auto s = std::max<int64_t>(d.count(), 0);
  if (s < 60)
    return std::to_string(s) + "s";
  if (s < 3600)
    return std::to_string(s / 60) + "m" + two_digits(s % 60) + "s";
  return std::to_string(s / 3600) + "h" + two_digits(s % 3600 / 60) + "m";
}

std::string progress_text(const progress_counts& counts,
                          std::chrono::milliseconds elapsed) {
  auto seconds = static_cast<double>(elapsed.count()) / 1000.0;
  auto rate = seconds > 0 ? static_cast<double>(counts.done) / seconds : 0.0;
  auto text = counts_text(counts) + ", " + rate_text(rate) + " jobs/s, ETA ";
  if (counts.done >= counts.total)
    return text + "0s";
  if (counts.done == 0 || rate <= 0)
    return text + "?";
  auto left = static_cast<double>(counts.total - counts.done) / rate;
  return text +
         human_duration(std::chrono::seconds{static_cast<int64_t>(left + 0.5)});
}

progress_meter::progress_meter(std::string label, bool terminal,
                               std::chrono::milliseconds every,
                               std::chrono::milliseconds redraw)
  : label_(std::move(label)),
    terminal_(terminal),
    every_(every),
    redraw_(redraw) {
  // Nothing to do.
}

std::string progress_meter::update(const progress_counts& counts,
                                   std::chrono::milliseconds elapsed) {
  // A terminal shows the line at once; a log waits a full period first.
  auto pace = terminal_ ? redraw_ : every_;
  auto due = last_.count() < 0 ? terminal_ || elapsed >= every_
                               : elapsed - last_ >= pace;
  if (!due)
    return {};
  auto text = label_ + ": " + progress_text(counts, elapsed);
  // An unchanged terminal line is not drawn again; a log gets its line.
  if (terminal_ && text == last_text_)
    return {};
  last_ = elapsed;
  last_text_ = text;
  return terminal_ ? "\r" + text + clear_to_end : text + "\n";
}

std::string progress_meter::finish(const progress_counts& counts,
                                   std::chrono::milliseconds elapsed) {
  auto text =
    label_ + ": " + counts_text(counts) + " in " +
    human_duration(std::chrono::duration_cast<std::chrono::seconds>(elapsed));
  return terminal_ ? "\r" + text + clear_to_end + "\n" : text + "\n";
}

} // namespace backfilld
