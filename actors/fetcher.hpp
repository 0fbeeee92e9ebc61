// The fetcher: pulls claimed jobs from the queue (never more than its window),
// waits for a rate-limiter grant, GETs the chart from a pool of detached HTTP
// workers, decodes it and hands the series to the writer; then reports the
// outcome to the queue.
//
// A provider outage piles up here, in the bounded window, and nowhere else:
// the writer, the tracker and the listener never wait on the provider.

#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/pending_tick.hpp"
#include "messages/interfaces.hpp"
#include "policy/breaker.hpp"
#include "policy/fetch_outcome.hpp"
#include "provider/http_client.hpp"
#include "provider/provider.hpp"

namespace backfilld {

struct fetcher_settings {
  /// Yahoo's base URL; tests point it at a fake server on loopback.
  std::string base_url = "https://query1.finance.yahoo.com";
  /// The other providers and the chains by asset type (its Yahoo base URL
  /// is `base_url`'s).
  provider_settings providers;
  /// One breaker per provider, all alike.
  breaker_settings breaker;
  /// Yahoo range name for a first backfill.
  std::string range = "1y";
  /// `refresh.overlap`: trading days before the last stored one that a
  /// refresh asks for again (late corrections, a split's new basis).
  int32_t overlap = 5;
  /// Jobs held at most (waiting for a worker, a grant, a response or the
  /// writer): the bound on in-memory work.
  uint32_t window = 16;
  /// Bound on one HTTP worker round trip (above the transfer timeout).
  std::chrono::milliseconds http_timeout{40'000};
  /// Bound on one writer round trip.
  std::chrono::milliseconds store_timeout{120'000};
  /// What a provider's answer means (pauses after a 429, among others).
  classify_settings classify;
  /// Wait before asking an unreachable peer again.
  std::chrono::milliseconds retry_delay{1'000};
  /// `<provider>.concurrency`: requests at most waiting for a grant or in
  /// flight per provider (absent: no bound but the workers). A job over it
  /// waits without a worker, so that a paused provider does not hold every
  /// worker while the others could go on.
  std::map<std::string, size_t> provider_concurrency;
  /// Bound on waiting for a grant; a lost request (say, the limiter died
  /// with it) is asked again after this.
  std::chrono::milliseconds grant_timeout{120'000};
  /// Unix time (seconds) when the fetcher starts; 0 takes the system clock.
  /// From then on, time is the actor's clock, which tests control.
  int64_t start_unix_time = 0;
};

/// A job that has a worker and waits for the rate limiter's grant.
struct grant_wait {
  fetcher_worker_actor worker;
  http_request request;
  /// Tells this request's grant from a grant for an earlier request of
  /// the same job that was given up (its provider paused meanwhile).
  uint64_t ticket = 0;
};

/// A job's way along its provider chain: it keeps its worker until a
/// provider serves it or every one has failed.
struct chain_walk {
  /// The usable providers for the job's asset type, in order.
  std::vector<std::string> names;
  /// Index into `names` of the provider asked next.
  size_t next = 0;
  /// The window the job asks for, whoever serves it.
  chart_window window;
  /// "provider: why" for each provider that could not serve the job.
  std::vector<std::string> reasons;
  /// How the job fails if nobody serves it: transient when anyone failed
  /// transiently, else throttled when anyone paused or was skipped for its
  /// open breaker (but transient when another refused for good), else
  /// permanent.
  bool any_transient = false;
  bool any_throttled = false;
  bool any_breaker_skip = false;
  bool any_permanent = false;
  int64_t retry_after_ms = 0;
  /// What the provider being asked leaves out of the window (a plan's
  /// history limit): an extension it cannot complete fails saying so
  /// instead of settling as if nothing older existed.
  std::string shortfall;

  /// The provider being asked.
  const std::string& current() const {
    return names.at(next - 1);
  }

  /// Whether the provider being asked is a fallback.
  bool falling_back() const {
    return next > 1;
  }
};

struct fetcher_state {
  static inline const char* name = "fetcher";
  job_queue_actor queue;
  rate_limiter_actor limiter;
  writer_actor writer;
  fetcher_settings settings;
  std::vector<fetcher_worker_actor> idle_workers;
  /// All workers, idle or not.
  size_t workers = 0;
  /// Every job in our hands, by id.
  std::map<job_id, backfill_job> held;
  /// Held jobs waiting for a free worker.
  std::deque<job_id> ready;
  /// Held jobs past `ready`: waiting for a grant, a response or the writer.
  size_t active = 0;
  /// The subset of `active` waiting for a grant.
  std::map<job_id, grant_wait> granting;
  /// Per provider: its requests waiting for a grant or in flight, and the
  /// active jobs (without a worker) waiting for one of those slots. Keys are
  /// the configured providers; the jobs are bounded by the window.
  std::map<std::string, size_t> busy;
  std::map<std::string, std::deque<job_id>> parked;
  /// Every provider by name, and its breaker.
  std::map<std::string, std::unique_ptr<price_provider>> providers;
  std::map<std::string, circuit_breaker> breakers;
  /// Providers that answered 429, until when they are paused. While paused,
  /// a provider is skipped like an open breaker, and a job with nobody left
  /// goes back to the table until the pause ends: jobs never sit in the
  /// window waiting for a pause, so FX and crypto keep flowing while Yahoo
  /// is paused. One entry per provider at most.
  std::map<std::string, caf::actor_clock::time_point> paused_until;
  /// Numbers grant requests (`grant_wait::ticket`).
  uint64_t next_ticket = 0;
  /// Why a provider cannot be used (no key), by name.
  std::map<std::string, std::string> unusable;
  /// The chain of every active job past its start.
  std::map<job_id, chain_walk> walks;
  bool pull_in_flight = false;
  /// Bumped when the queue is replaced, to ignore answers from the old one.
  uint64_t queue_epoch = 0;
  /// Bumped when the limiter is replaced: its waiting requests died with it
  /// (CAF 0.17 sends no error for an undelivered promise), so they are asked
  /// again of the successor.
  uint64_t limiter_epoch = 0;
  pending_tick retry;
  /// The actor's clock and Unix time at start (see `start_unix_time`).
  caf::actor_clock::time_point started;
  int64_t started_unix = 0;
  bool draining = false;
  std::optional<caf::typed_response_promise<int32_t>> drain_promise;
  int32_t finished_while_draining = 0;
};

fetcher_actor::behavior_type
fetcher(fetcher_actor::stateful_pointer<fetcher_state> self,
        job_queue_actor queue, rate_limiter_actor limiter, writer_actor writer,
        std::vector<fetcher_worker_actor> workers, fetcher_settings settings);

/// Spawns the fetcher with `concurrency` detached HTTP workers.
fetcher_actor spawn_fetcher(caf::actor_system& sys, job_queue_actor queue,
                            rate_limiter_actor limiter, writer_actor writer,
                            size_t concurrency, http_options http,
                            fetcher_settings settings);

} // namespace backfilld
