// The fetcher's steps, shared by its translation units: the actor and its
// talk with the queue (fetcher.cpp), the steps of one job (fetcher_job.cpp)
// and the walk along a job's provider chain (fetcher_chain.cpp). One actor's
// code split by role so that no file is longer than a reader can hold; not
// an interface for anyone but the fetcher.

#pragma once

#include <chrono>
#include <string>

#include <caf/actor_clock.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/fetcher.hpp"

namespace backfilld::fetcher_steps {

using self_pointer = fetcher_actor::stateful_pointer<fetcher_state>;

// -- the actor (fetcher.cpp) --------------------------------------------------

void retry_later(self_pointer self);

/// Unix seconds by the actor's clock.
int64_t unix_now(self_pointer self);

/// Unix seconds of an actor-clock time point (rounded up: "until" times).
int64_t unix_at(self_pointer self, caf::actor_clock::time_point t);

/// Answers a pending drain once nothing is in flight any more.
void maybe_finish_drain(self_pointer self);

void after_finish(self_pointer self);

/// Reports a job's outcome to the queue (`done` with a write summary, or
/// `failed` with a job failure) and lets the job go. `job` may be the very
/// entry of `held` that this erases: it is reported first.
template <class Atom, class Outcome>
void finish(self_pointer self, const backfill_job& job, Atom what,
            Outcome outcome) {
  auto& st = self->state;
  --st.active;
  self->send(st.queue, what, job, std::move(outcome));
  st.walks.erase(job.id);
  st.held.erase(job.id);
  after_finish(self);
}

void fail(self_pointer self, const backfill_job& job, failure_kind kind,
          std::string reason);

/// Resumes parked jobs whose provider has a slot again, then starts ready
/// jobs, while workers are free.
void dispatch(self_pointer self);

// -- one job (fetcher_job.cpp) ------------------------------------------------

/// Sets the job on its way along the chain of its asset type.
void start(self_pointer self, const backfill_job& job,
           fetcher_worker_actor worker);

/// GETs the chart for a job that has its grant.
void get_chart(self_pointer self, const backfill_job& job,
               fetcher_worker_actor worker, http_request request);

// -- the provider chain (fetcher_chain.cpp) -----------------------------------

/// Asks the next provider of the job's chain that can serve it.
void try_next(self_pointer self, job_id id, fetcher_worker_actor worker);

/// Notes why the current provider did not serve the job, then asks the next.
void fall_through(self_pointer self, job_id id, fetcher_worker_actor worker,
                  const job_failure& failure);

/// Whether `name` has a free slot under its `concurrency`.
bool has_slot(const fetcher_state& st, const std::string& name);

/// A request to `name` is over (answered or failed): its slot may go to a
/// parked job.
void free_slot(self_pointer self, const std::string& name);

/// Gives the worker back and lets the next ready job have it.
void release_worker(self_pointer self, fetcher_worker_actor worker);

/// Records what an answer says about its provider's health.
void note_health(self_pointer self, const std::string& name, bool healthy);

/// `name` answered 429: it gets nothing until the pause ends.
void pause_provider(self_pointer self, const std::string& name,
                    std::chrono::milliseconds pause);

/// Asks the limiter for a grant for a job that has its worker.
void request_grant(self_pointer self, job_id id);

} // namespace backfilld::fetcher_steps
