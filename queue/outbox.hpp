// Outcomes on their way to `backfill_jobs`, in the order they happened.
//
// The job queue sends one outcome at a time and the next only once the store
// took it, so that a job's outcomes never overtake each other. While the
// database is away everything waits; an outcome it refuses outright (a value
// it will never accept) must not block the rest forever: after a few refusals
// it is dropped, and its job's lease runs out instead.

#pragma once

#include <cstdint>
#include <deque>
#include <variant>
#include <vector>

#include "messages/types.hpp"

namespace backfilld {

/// The job's series is stored.
struct done_outcome {
  job_id job = 0;
};

/// One row change the job queue owes the table.
using outcome = std::variant<done_outcome, job_verdict, job_release>;

class outbox {
 public:
  /// `max_refusals`: refusals after which the oldest outcome is dropped.
  explicit outbox(int32_t max_refusals)
    : max_refusals_(max_refusals) {
    // nop
  }

  void push(outcome x) {
    items_.push_back(std::move(x));
  }

  /// The oldest outcome, now in flight; null while one is in flight already
  /// or nothing waits.
  const outcome* send_next();

  /// The store recorded the outcome in flight.
  void sent();

  /// What became of an outcome the store did not take.
  enum class retry_or_drop {
    /// It waits at the front for the next attempt.
    retry,
    /// Refused too often: dropped, the next one goes on.
    dropped,
  };

  /// The store did not take the outcome in flight: `database_away` when it
  /// could not be reached (the outcome waits however long that takes), else
  /// it refused this outcome.
  retry_or_drop failed(bool database_away);

  bool empty() const {
    return items_.empty();
  }

  bool in_flight() const {
    return in_flight_;
  }

  size_t size() const {
    return items_.size();
  }

  /// The jobs whose verdict waits here and has not left yet: they are still
  /// running in the table, so the queue's heartbeat must count them as held,
  /// or the store would release them as orphans and they would be fetched
  /// again before their verdict lands.
  std::vector<job_id> waiting_verdicts() const {
    std::vector<job_id> jobs;
    for (size_t i = in_flight_ ? 1 : 0; i < items_.size(); ++i)
      if (auto verdict = std::get_if<job_verdict>(&items_[i]))
        jobs.push_back(verdict->job);
    return jobs;
  }

 private:
  std::deque<outcome> items_;
  bool in_flight_ = false;
  int32_t refusals_ = 0;
  int32_t max_refusals_;
};

} // namespace backfilld
