// Fake neighbours for the actor tests: one configurable fake per role that
// several tests talk to. Each records what it was sent, and a message the
// test did not allow fails the test instead of being swallowed.

#pragma once

#include <deque>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "actor_fixture.hpp"

namespace backfilld::test {

/// Fails the running test when `what` is not among the allowed messages.
inline void require_allowed(const std::set<std::string>& allowed,
                            const char* fake, const std::string& what) {
  if (allowed.count(what) == 0)
    CAF_FAIL(fake << " got an unexpected '" << what << "'");
}

// -- job queue
// ------------------------------------------------------------------

/// A scripted job queue: hands out prepared jobs, records outcomes.
struct queue_script {
  /// Answers to pulls, in order; a pull with nothing prepared waits forever,
  /// like a queue without due jobs.
  std::deque<std::vector<backfill_job>> jobs_to_hand_out;
  std::vector<uint32_t> pull_capacities;
  /// The jobs each pull said its fetcher holds.
  std::vector<std::vector<job_id>> pull_held;
  std::vector<std::pair<job_id, write_summary>> done;
  std::vector<std::pair<job_id, job_failure>> failed;
  std::vector<job_id> released;
  int wakes = 0;
  /// Pulls, outcomes and releases are always allowed; "wake", "drain" and
  /// "tick" only when listed.
  std::set<std::string> allowed;
  /// Events in order ("drain"), for tests of the supervisor's shutdown.
  std::vector<std::string>* events = nullptr;
};

inline job_queue_actor::behavior_type
fake_job_queue(job_queue_actor::pointer self, std::shared_ptr<queue_script> q) {
  return {
    [=](atom::pull, uint32_t capacity, const std::vector<job_id>& held)
      -> caf::result<std::vector<backfill_job>> {
      q->pull_capacities.push_back(capacity);
      q->pull_held.push_back(held);
      if (q->jobs_to_hand_out.empty())
        return self->make_response_promise<std::vector<backfill_job>>();
      auto jobs = std::move(q->jobs_to_hand_out.front());
      q->jobs_to_hand_out.pop_front();
      if (jobs.size() > capacity)
        CAF_FAIL("the test handed out more than asked for");
      return jobs;
    },
    [=](atom::wake) {
      require_allowed(q->allowed, "the fake job queue", "wake");
      ++q->wakes;
    },
    [=](atom::done, const backfill_job& job, const write_summary& s) {
      q->done.emplace_back(job.id, s);
    },
    [=](atom::failed, const backfill_job& job, const job_failure& f) {
      q->failed.emplace_back(job.id, f);
    },
    [=](atom::release, const std::vector<job_id>& jobs) {
      q->released.insert(q->released.end(), jobs.begin(), jobs.end());
    },
    [=](atom::drain) {
      require_allowed(q->allowed, "the fake job queue", "drain");
      if (q->events)
        q->events->push_back("job-queue drain");
      return int32_t{0};
    },
    [=](atom::tick) {
      require_allowed(q->allowed, "the fake job queue", "tick");
    },
  };
}

// -- dedupe
// ---------------------------------------------------------------------

/// What a fake dedupe actor was told.
struct dedupe_log {
  std::vector<asset_id> seen;
  int catch_ups = 0;
  int new_trackers = 0;
  int new_queues = 0;
  std::set<std::string> allowed;
};

inline dedupe_actor::behavior_type fake_dedupe(dedupe_actor::pointer,
                                               std::shared_ptr<dedupe_log> d) {
  return {
    [=](const asset_seen& x) { d->seen.push_back(x.asset); },
    [=](atom::catch_up) { ++d->catch_ups; },
    [=](atom::tick) { require_allowed(d->allowed, "the fake dedupe", "tick"); },
    [=](tracker_actor) { ++d->new_trackers; },
    [=](job_queue_actor) { ++d->new_queues; },
  };
}

// -- tracker
// --------------------------------------------------------------------

/// What a fake tracker was asked to track.
struct tracker_log {
  std::vector<asset_id> tracked;
  std::vector<asset_id> written;
  int flushes = 0;
  std::vector<std::string>* events = nullptr;
};

inline tracker_actor::behavior_type
fake_tracker(tracker_actor::pointer, std::shared_ptr<tracker_log> t) {
  return {
    [=](atom::track, asset_id asset) { t->tracked.push_back(asset); },
    [=](atom::track, asset_id asset, atom::write) {
      t->written.push_back(asset);
    },
    [=](atom::track, const std::vector<asset_id>& assets) {
      t->tracked.insert(t->tracked.end(), assets.begin(), assets.end());
    },
    [=](atom::flush) {
      ++t->flushes;
      if (t->events)
        t->events->push_back("tracker flush");
      return int32_t{0};
    },
    [](atom::tick) { CAF_FAIL("the fake tracker got an unexpected 'tick'"); },
  };
}

} // namespace backfilld::test
