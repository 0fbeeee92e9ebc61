#include "actors/fetcher.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/fetcher_steps.hpp"
#include "actors/fetcher_worker.hpp"
#include "actors/lifetime.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/log.hpp"
#include "telemetry/provider_health.hpp"

namespace backfilld {

namespace fetcher_steps {

namespace {

void pull_more(self_pointer self);

} // namespace

void retry_later(self_pointer self) {
  self->state.retry.schedule(self, self->state.settings.retry_delay);
}

/// Unix seconds by the actor's clock.
int64_t unix_now(self_pointer self) {
  auto& st = self->state;
  auto elapsed = self->clock().now() - st.started;
  return st.started_unix +
         std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
}

/// Unix seconds of an actor-clock time point (rounded up: "until" times).
int64_t unix_at(self_pointer self, caf::actor_clock::time_point t) {
  auto left = t - self->clock().now();
  return unix_now(self) + std::chrono::ceil<std::chrono::seconds>(left).count();
}

// -- finishing a job ----------------------------------------------------------

/// Answers a pending drain once nothing is in flight any more.
void maybe_finish_drain(self_pointer self) {
  auto& st = self->state;
  if (st.draining && st.active == 0 && st.drain_promise) {
    st.drain_promise->deliver(st.finished_while_draining);
    st.drain_promise.reset();
  }
}

void after_finish(self_pointer self) {
  auto& st = self->state;
  if (!st.draining) {
    pull_more(self);
    return;
  }
  ++st.finished_while_draining;
  maybe_finish_drain(self);
}

void fail(self_pointer self, const backfill_job& job, failure_kind kind,
          std::string reason) {
  finish(self, job, atom::failed_v, job_failure{kind, std::move(reason), 0});
}

/// Resumes parked jobs whose provider has a slot again, then starts ready
/// jobs, while workers are free. Parked jobs are in flight already: they go
/// first, and also while draining (the drain waits for them).
void dispatch(self_pointer self) {
  auto& st = self->state;
  for (auto& [name, ids] : st.parked) {
    while (!ids.empty() && !st.idle_workers.empty() && has_slot(st, name)) {
      auto id = ids.front();
      ids.pop_front();
      auto worker = st.idle_workers.back();
      st.idle_workers.pop_back();
      try_next(self, id, worker);
    }
  }
  while (!st.ready.empty() && !st.idle_workers.empty() && !st.draining) {
    auto id = st.ready.front();
    st.ready.pop_front();
    auto worker = st.idle_workers.back();
    st.idle_workers.pop_back();
    start(self, st.held.at(id), worker);
  }
}

namespace {

// -- talking to the queue -----------------------------------------------------

std::vector<job_id> held_ids(self_pointer self) {
  std::vector<job_id> ids;
  for (const auto& [id, job] : self->state.held)
    ids.push_back(id);
  return ids;
}

/// How many jobs a pull asks for now: the window's free part once half of
/// it is free, or once fewer jobs are held than would keep every worker
/// busy; else 0.
uint32_t room_to_pull(const fetcher_state& st) {
  auto window = size_t{st.settings.window};
  if (st.held.size() >= window)
    return 0;
  auto free = window - st.held.size();
  // A claim costs the database a round trip and an index walk whatever it
  // returns. Pulling each slot as it freed made claims of about 2 jobs, 14 %
  // of PostgreSQL's time at 10,000 assets (bench/README.md).
  auto beyond_workers = window > st.workers ? window - st.workers : 0;
  auto least = std::max<size_t>(1, std::min(window / 2, beyond_workers));
  return free >= least ? static_cast<uint32_t>(free) : 0;
}

/// Asks the queue for jobs (`room_to_pull`). The answer comes when jobs are
/// due (a long poll).
void pull_more(self_pointer self) {
  auto& st = self->state;
  if (st.pull_in_flight || st.draining)
    return;
  auto capacity = room_to_pull(st);
  if (capacity == 0)
    return;
  auto epoch = st.queue_epoch;
  st.pull_in_flight = true;
  self->request(st.queue, caf::infinite, atom::pull_v, capacity, held_ids(self))
    .then(
      [=](std::vector<backfill_job>& jobs) {
        auto& st = self->state;
        if (epoch == st.queue_epoch)
          st.pull_in_flight = false;
        for (auto& job : jobs) {
          auto id = job.id;
          if (st.held.emplace(id, std::move(job)).second)
            st.ready.push_back(id);
        }
        if (st.draining && !jobs.empty()) {
          // Claimed while we started draining: hand them straight back.
          std::vector<job_id> ids{st.ready.begin(), st.ready.end()};
          for (auto id : ids)
            st.held.erase(id);
          st.ready.clear();
          self->send(st.queue, atom::release_v, std::move(ids));
          return;
        }
        dispatch(self);
        // An empty answer means the queue is draining: do not hammer it.
        if (jobs.empty())
          retry_later(self);
        else
          pull_more(self);
      },
      [=](caf::error& err) {
        auto& st = self->state;
        if (epoch != st.queue_epoch)
          return;
        st.pull_in_flight = false;
        BF_WARN(self, "Cannot pull jobs: {}; retrying", render(err));
        retry_later(self);
      });
}

caf::result<int32_t> on_drain(self_pointer self) {
  auto& st = self->state;
  st.draining = true;
  // Jobs not started yet go back to the table now, not at lease expiry.
  if (!st.ready.empty()) {
    std::vector<job_id> ids{st.ready.begin(), st.ready.end()};
    for (auto id : ids)
      st.held.erase(id);
    st.ready.clear();
    BF_INFO(self, "Handing back {} jobs not started yet", ids.size());
    self->send(st.queue, atom::release_v, std::move(ids));
  }
  if (st.active == 0)
    return st.finished_while_draining;
  BF_INFO(self, "Finishing {} jobs in flight", st.active);
  auto promise = self->make_response_promise<int32_t>();
  st.drain_promise = promise;
  return promise;
}

} // namespace

} // namespace fetcher_steps

using namespace fetcher_steps;

fetcher_actor::behavior_type
fetcher(fetcher_actor::stateful_pointer<fetcher_state> self,
        job_queue_actor queue, rate_limiter_actor limiter, writer_actor writer,
        std::vector<fetcher_worker_actor> workers, fetcher_settings settings) {
  auto& st = self->state;
  st.queue = std::move(queue);
  st.limiter = std::move(limiter);
  st.writer = std::move(writer);
  st.idle_workers = std::move(workers);
  st.workers = st.idle_workers.size();
  end_on_exception(self);
  st.settings = std::move(settings);
  st.started = self->clock().now();
  st.settings.providers.yahoo_base_url = st.settings.base_url;
  for (const auto& name : provider_names()) {
    st.providers.emplace(name, make_provider(name, st.settings.providers));
    st.breakers.emplace(name, circuit_breaker{st.settings.breaker});
    if (auto why = st.providers.at(name)->unusable(); !why.empty()) {
      provider_states().set_off(name, why);
      st.unusable.emplace(name, std::move(why));
    } else {
      provider_states().set_breaker(name, "closed", 0);
    }
  }
  // Once per start: a chain naming a provider that is off.
  for (const auto& [type, chain] : st.settings.providers.chains)
    for (const auto& name : chain)
      if (auto i = st.unusable.find(name); i != st.unusable.end())
        BF_INFO(self, "Provider {} is skipped for {} assets: {}", name, type,
                i->second);
  st.started_unix = st.settings.start_unix_time != 0
                      ? st.settings.start_unix_time
                      : static_cast<int64_t>(std::time(nullptr));
  pull_more(self);
  return {
    [=](job_queue_actor queue) {
      auto& st = self->state;
      st.queue = std::move(queue);
      ++st.queue_epoch;
      st.pull_in_flight = false;
      // The new queue knows nothing of our jobs: tell it even when we would
      // not pull yet (a pull for nothing), so that their leases are kept.
      if (room_to_pull(st) == 0)
        self
          ->request(st.queue, caf::infinite, atom::pull_v, uint32_t{0},
                    held_ids(self))
          .then([](std::vector<backfill_job>&) {}, [](caf::error&) {});
      pull_more(self);
    },
    [=](rate_limiter_actor limiter) {
      auto& st = self->state;
      st.limiter = std::move(limiter);
      ++st.limiter_epoch;
      for (const auto& entry : st.granting)
        request_grant(self, entry.first);
      dispatch(self);
    },
    [=](writer_actor writer) { self->state.writer = std::move(writer); },
    [=](atom::drain) { return on_drain(self); },
    [=](atom::tick) {
      self->state.retry.fired();
      dispatch(self);
      pull_more(self);
    },
  };
}

fetcher_actor spawn_fetcher(caf::actor_system& sys, job_queue_actor queue,
                            rate_limiter_actor limiter, writer_actor writer,
                            size_t concurrency, http_options http,
                            fetcher_settings settings) {
  std::vector<fetcher_worker_actor> workers;
  for (size_t i = 0; i < std::max<size_t>(concurrency, 1); ++i)
    workers.push_back(spawn_fetcher_worker(sys, http));
  auto logic = sys.spawn(fetcher, std::move(queue), std::move(limiter),
                         std::move(writer), workers, std::move(settings));
  for (const auto& worker : workers)
    bind_lifetimes(logic, worker);
  return logic;
}

} // namespace backfilld
