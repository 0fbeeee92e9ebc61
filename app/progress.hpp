// Progress of long one-shot work (`backfilld backfill`, `backfilld refresh
// --all`): on a terminal one line rewritten in place, elsewhere (a log
// collector, a pipe) a plain line now and then. Pure: it renders text and
// decides when; the caller writes it and owns the clock.

#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace backfilld {

/// What the work has come to so far.
struct progress_counts {
  /// Jobs settled (done or failed) out of `total`.
  uint64_t done = 0;
  uint64_t total = 0;
  /// Price rows written, when known (0 otherwise: not shown).
  uint64_t rows = 0;
};

/// A duration for people: "45s", "3m05s", "2h03m".
std::string human_duration(std::chrono::seconds d);

/// "3/10 jobs, 1234 rows, 0.5 jobs/s, ETA 14s" after `elapsed`. The rate is
/// the average since the start; the ETA is "?" until a job is done.
std::string progress_text(const progress_counts& counts,
                          std::chrono::milliseconds elapsed);

/// Decides what to write, and when.
class progress_meter {
 public:
  /// `terminal`: rewrite one line (at most every `redraw`); otherwise a
  /// plain line every `every`.
  progress_meter(std::string label, bool terminal,
                 std::chrono::milliseconds every,
                 std::chrono::milliseconds redraw = std::chrono::milliseconds{
                   200});

  /// What to write for `counts` at `elapsed` since the start; empty when
  /// nothing is due.
  std::string update(const progress_counts& counts,
                     std::chrono::milliseconds elapsed);

  /// The closing line, newline-terminated, whatever was written before.
  std::string finish(const progress_counts& counts,
                     std::chrono::milliseconds elapsed);

 private:
  std::string label_;
  bool terminal_;
  std::chrono::milliseconds every_;
  std::chrono::milliseconds redraw_;
  /// When the last line was written (negative: never).
  std::chrono::milliseconds last_{-1};
  std::string last_text_;
};

} // namespace backfilld
