// Who holds which jobs, and which pulls wait for work.
//
// A fetcher's pull waits (parked) until jobs are due; jobs it was handed are
// held in its name until it reports them, so that heartbeats extend their
// leases and its death hands them back at once. `Holder` identifies a fetcher
// (an actor address in the daemon, a number in tests) and `Reply` answers a
// pull (a response promise in the daemon).

#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "messages/types.hpp"

namespace backfilld {

template <class Holder, class Reply>
class pull_book {
 public:
  /// A pull that waits for due jobs.
  struct pull {
    uint64_t id = 0;
    Holder holder;
    uint32_t capacity = 0;
    Reply reply;
  };

  // -- holders ----------------------------------------------------------------

  bool knows(const Holder& holder) const {
    return held_.count(holder) > 0;
  }

  /// What the holder says it holds is the truth, also after our restart.
  void holds_exactly(const Holder& holder, const std::vector<job_id>& jobs) {
    held_[holder] = std::set<job_id>{jobs.begin(), jobs.end()};
  }

  void hold(const Holder& holder, job_id job) {
    held_[holder].insert(job);
  }

  void forget(const Holder& holder, job_id job) {
    if (auto i = held_.find(holder); i != held_.end())
      i->second.erase(job);
  }

  /// Removes a holder that is gone with its parked pulls; returns the jobs
  /// it held.
  std::vector<job_id> drop_holder(const Holder& holder) {
    std::vector<job_id> jobs;
    if (auto i = held_.find(holder); i != held_.end()) {
      jobs.assign(i->second.begin(), i->second.end());
      held_.erase(i);
    }
    parked_.erase(
      std::remove_if(parked_.begin(), parked_.end(),
                     [&](const pull& p) { return p.holder == holder; }),
      parked_.end());
    return jobs;
  }

  /// Every held job, of every holder.
  std::vector<job_id> all_held() const {
    std::vector<job_id> result;
    for (const auto& entry : held_)
      result.insert(result.end(), entry.second.begin(), entry.second.end());
    return result;
  }

  size_t held_count() const {
    size_t total = 0;
    for (const auto& entry : held_)
      total += entry.second.size();
    return total;
  }

  /// Forgets every holder (shutdown); returns what they held.
  std::vector<job_id> release_all() {
    auto jobs = all_held();
    held_.clear();
    return jobs;
  }

  // -- parked pulls -----------------------------------------------------------

  /// Parks a pull; returns its id.
  uint64_t park(Holder holder, uint32_t capacity, Reply reply) {
    auto id = next_id_++;
    parked_.push_back(pull{id, std::move(holder), capacity, std::move(reply)});
    return id;
  }

  /// The pull that waited longest, or null.
  const pull* oldest() const {
    return parked_.empty() ? nullptr : &parked_.front();
  }

  /// Takes a parked pull out to answer it; nothing when it is gone (its
  /// holder died meanwhile).
  std::optional<pull> take(uint64_t id) {
    auto i = std::find_if(parked_.begin(), parked_.end(),
                          [&](const pull& p) { return p.id == id; });
    if (i == parked_.end())
      return std::nullopt;
    auto result = std::move(*i);
    parked_.erase(i);
    return result;
  }

  /// Takes every parked pull out (shutdown).
  std::deque<pull> take_all() {
    return std::exchange(parked_, {});
  }

  /// Jobs handed to a pull's holder are held in its name.
  void hand_over(const pull& p, const std::vector<backfill_job>& jobs) {
    auto& mine = held_[p.holder];
    for (const auto& job : jobs)
      mine.insert(job.id);
  }

 private:
  std::map<Holder, std::set<job_id>> held_;
  std::deque<pull> parked_;
  uint64_t next_id_ = 1;
};

} // namespace backfilld
