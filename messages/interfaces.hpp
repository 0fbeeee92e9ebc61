// The protocol of backfilld: one typed interface per actor role.
//
// Read this file to learn the whole system. A notification flows
//
// clang-format off
//
//   PostgreSQL ─NOTIFY─▶ listener ─asset_seen─▶ dedupe ─enqueue─▶ backfill_jobs
//                              scheduler ─refresh─┼───────────────▶ (table)
//                                                wake                  │
//                                                 ▼                    │
//                                             job_queue ◀────claim─────┘
//                                              ▲     │
//                  pull, done, failed, release │     │ jobs (at most the room
//                                              │     ▼       the fetcher has)
//   rate_limiter ◀─acquire/grant─────────────▶ fetcher ─get─▶ http workers
//                                                 │ write
//                                                 ▼
//                                              writer ─track─▶ tracker
//                                                 │               │
//                                                 ▼               ▼
//                                           asset_prices    tracked_assets
//
// clang-format on
//
// The supervisor spawns and watches every role and hands a restarted role's
// new handle to the peers that talk to it.
//
// Roles that block (libpq, curl) are split in two: an event-based actor with
// the logic, and a detached "store" or "shell" actor that owns the connection
// and does nothing but I/O. The logic actors are what the unit tests drive on
// CAF's deterministic scheduler, with fake stores behind them.

#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/types.hpp"

namespace backfilld {

// -- I/O shells (detached actors) ---------------------------------------------

/// Cuts database connections whose calls hang. A peer that vanished without
/// a reset (or a proxy that stopped forwarding) leaves a blocking libpq call
/// waiting forever; shutting the socket down from outside ends the wait with
/// an error, and the shell reconnects.
using db_watchdog_actor = caf::typed_actor<
  /// A call on this socket starts; it should end within the timespan.
  caf::reacts_to<atom::arm, uint64_t, int32_t, caf::timespan>,
  /// The call ended.
  caf::reacts_to<atom::disarm, uint64_t>,
  /// Internal: the earliest deadline is due.
  caf::reacts_to<atom::tick>>;

/// Owns one of the writer's database connections (`writer.connections`).
using writer_store_actor = caf::typed_actor<
  /// Group commit: stores the jobs' series in one transaction, each job all
  /// or nothing (a savepoint each; when the transaction cannot commit, one
  /// transaction per job). A backfill's (or a rewrite's) is upserted whole;
  /// of an extension's, only the days before the first stored price, and
  /// nothing when the answer disagrees with the stored days
  /// (`write_summary::disagreement`). One outcome per job, in order, each
  /// final: its rows are committed unless it failed or disagreed. An error
  /// means nothing of the batch is known to be stored.
  caf::replies_to<atom::write, std::vector<series_write>>::with<
    std::vector<stored_outcome>>>;

/// Owns the tracker's database connection.
using tracker_store_actor = caf::typed_actor<
  /// Recomputes `tracking_users` for the first list; also stamps
  /// `last_price_update` for the second (assets whose prices were just
  /// written). Replies with the number of rows inserted or changed.
  caf::replies_to<atom::track, std::vector<asset_id>,
                  std::vector<asset_id>>::with<int32_t>>;

/// What the dedupe actor asks of its job store.
using enqueue_store_actor = caf::typed_actor<
  /// Queues a backfill for every asset that needs one (at most one live job
  /// per asset and kind) and says what happened to each.
  caf::replies_to<atom::enqueue,
                  std::vector<asset_id>>::with<std::vector<enqueue_result>>,
  /// Runs `enqueue` for the assets whose transactions changed after the
  /// mark, or for every asset that has transactions when the mark is
  /// negative: queues what lost notifications missed, and reports the rest
  /// so that tracking is repaired.
  caf::replies_to<atom::catch_up, scan_mark>::with<catch_up_report>>;

/// What the job queue asks of its job store.
using claim_store_actor = caf::typed_actor<
  /// Claims up to N due jobs under a lease (`FOR UPDATE SKIP LOCKED`).
  caf::replies_to<atom::claim, uint32_t>::with<std::vector<backfill_job>>,
  /// Marks jobs done, all in one transaction; replies with those whose
  /// lease had passed to someone else.
  caf::replies_to<atom::done, std::vector<job_id>>::with<std::vector<job_id>>,
  /// Applies a verdict after a failed attempt; false when the lease was lost.
  caf::replies_to<atom::failed, job_verdict>::with<bool>,
  /// Extends the leases of jobs still in our hands and hands back our jobs
  /// in nobody's hands; replies with how many leases were still ours.
  caf::replies_to<atom::heartbeat, std::vector<job_id>>::with<int32_t>,
  /// Hands jobs back to the table.
  caf::replies_to<atom::release, job_release>::with<int32_t>>;

/// Owns a database connection to `backfill_jobs` and runs its SQL. The dedupe
/// actor and the job queue each have one (of the two views above), so that a
/// long catch-up scan never delays claims and heartbeats.
using job_store_actor = enqueue_store_actor::extend_with<claim_store_actor>;

/// Owns the scheduler's database connection.
using schedule_store_actor = caf::typed_actor<
  /// The exchange time zones (IANA names) recorded for tracked assets that
  /// are not inactive; the scheduler runs an after-close refresh per zone.
  caf::replies_to<atom::zones>::with<std::set<std::string>>,
  /// Queues a refresh for the next batch of tracked, not inactive assets
  /// with prices and no live job, in asset id order after the id given: of
  /// the named zone (every zone when empty), skipping those refreshed
  /// within the timespan.
  caf::replies_to<atom::refresh, std::string, asset_id,
                  caf::timespan>::with<refresh_batch>>;

/// One libcurl easy handle on its own thread.
using fetcher_worker_actor = caf::typed_actor<
  /// Performs one GET; transport failures come back as errors.
  caf::replies_to<atom::get, http_request>::with<http_response>>;

/// Owns the LISTEN connection. It drives itself with `poll` messages so that
/// it stays responsive to exit messages between waits.
using listener_shell_actor = caf::typed_actor<
  /// Internal: wait for notifications once, ping or reconnect when due.
  caf::reacts_to<atom::poll>>;

// -- pipeline roles (event-based) ---------------------------------------------

/// Keeps `tracked_assets` right.
using tracker_actor = caf::typed_actor<
  /// This asset gained a transaction: recompute its `tracking_users`.
  caf::reacts_to<atom::track, asset_id>,
  /// This asset's prices were just written: recompute and stamp
  /// `last_price_update`.
  caf::reacts_to<atom::track, asset_id, atom::write>,
  /// A catch-up scan found these assets with prices: recompute them all.
  caf::reacts_to<atom::track, std::vector<asset_id>>,
  /// Write what is pending now; replies once the store has it (shutdown).
  caf::replies_to<atom::flush>::with<int32_t>,
  /// Internal: retry a batch the store could not take.
  caf::reacts_to<atom::tick>>;

/// A token bucket per provider that spaces out its requests.
using rate_limiter_actor = caf::typed_actor<
  /// Asks for one request slot at the named provider; the reply comes once
  /// it has a token (an unknown provider is an error).
  caf::replies_to<atom::acquire, std::string>::with<atom::grant>,
  /// The named provider answered 429: grant it nothing for this long, then
  /// come back at a lower rate. Other providers keep going.
  caf::reacts_to<atom::throttle, std::string, caf::timespan>,
  /// The named provider answered a request: its rate may grow back.
  caf::reacts_to<atom::done, std::string>,
  /// This process's share of `cluster.requests-per-second` (a core's own
  /// fetcher): no provider goes faster from now on; 0 lifts the cap.
  caf::reacts_to<atom::cap, double>,
  /// Internal: a token is due.
  caf::reacts_to<atom::tick>>;

/// Stores fetched series and tells the tracker.
using writer_actor = caf::typed_actor<
  /// Writes the job's series in one transaction; replies what was stored.
  caf::replies_to<atom::write, backfill_job, price_series>::with<write_summary>,
  /// The tracker was restarted: use this handle from now on.
  caf::reacts_to<tracker_actor>>;

/// Hands claimed jobs to fetchers that ask for them, and records what became
/// of each. Everything it keeps in memory can be lost: the table holds the
/// jobs, and a lease that nobody extends expires.
using job_queue_actor = caf::typed_actor<
  /// A fetcher has room for N more jobs and holds these. The reply carries at
  /// most N jobs; it waits while none are due (a long poll), so no mailbox
  /// ever holds more than the fetchers asked for.
  caf::replies_to<atom::pull, uint32_t,
                  std::vector<job_id>>::with<std::vector<backfill_job>>,
  /// New jobs are in the table: claim now rather than at the next poll.
  caf::reacts_to<atom::wake>,
  /// The job's series is stored.
  caf::reacts_to<atom::done, backfill_job, write_summary>,
  /// The job's attempt failed.
  caf::reacts_to<atom::failed, backfill_job, job_failure>,
  /// A draining fetcher hands back jobs it will not start.
  caf::reacts_to<atom::release, std::vector<job_id>>,
  /// Shutdown: hand out no more jobs, release what fetchers still hold, and
  /// reply once every outcome reached the table.
  caf::replies_to<atom::drain>::with<int32_t>,
  /// Internal: retry outcomes, serve parked pulls, extend leases when due.
  caf::reacts_to<atom::tick>>;

/// Turns sightings into durable jobs: at most one live job per asset (the
/// table's unique index decides, not this actor's memory).
using dedupe_actor = caf::typed_actor<
  /// A notification named this asset.
  caf::reacts_to<asset_seen>,
  /// Scan the database for work that lost notifications missed (what changed
  /// since the last scan).
  caf::reacts_to<atom::catch_up>,
  /// Internal: flush pending sightings, start a catch-up when due.
  caf::reacts_to<atom::tick>,
  /// The tracker was restarted: use this handle from now on, and scan
  /// everything (the recounts it held are lost).
  caf::reacts_to<tracker_actor>,
  /// The job queue was restarted: use this handle from now on.
  caf::reacts_to<job_queue_actor>>;

/// Turns raw notifications into sightings.
using listener_actor = caf::typed_actor<
  /// A notification arrived (from the I/O shell).
  caf::reacts_to<pg_notification>,
  /// The shell is LISTENing on a connection served by this backend pid.
  /// Notifications sent while it was away are gone: triggers a catch-up.
  caf::reacts_to<atom::listening, int32_t>,
  /// The shell lost its connection; the text says why.
  caf::reacts_to<atom::lost, std::string>,
  /// The dedupe actor was restarted: use this handle from now on.
  caf::reacts_to<dedupe_actor>>;

/// Pulls jobs, waits for grants, fetches, decodes and hands series on.
using fetcher_actor = caf::typed_actor<
  /// The job queue was restarted: use this handle from now on.
  caf::reacts_to<job_queue_actor>,
  /// The rate limiter was restarted.
  caf::reacts_to<rate_limiter_actor>,
  /// The writer was restarted.
  caf::reacts_to<writer_actor>,
  /// Shutdown: pull nothing new, finish the jobs in hand; replies with how
  /// many were finished. Whoever asks bounds the wait with a timeout.
  caf::replies_to<atom::drain>::with<int32_t>,
  /// Internal: retry what waits for a peer that was away.
  caf::reacts_to<atom::tick>>;

/// Queues routine refreshes of every tracked asset: every `refresh.interval`
/// and once a day after each exchange's close, in the exchange's own zone.
/// It keeps nothing the table does not: a restarted scheduler refreshes
/// whatever was not refreshed within an interval.
using scheduler_actor = caf::typed_actor<
  /// The job queue was restarted: use this handle from now on.
  caf::reacts_to<job_queue_actor>,
  /// Internal: start the runs that are due, or the next batch of one.
  caf::reacts_to<atom::tick>>;

/// Spawns and watches every role.
using supervisor_actor = caf::typed_actor<
  /// Stop gracefully; the supervisor quits once everything is handed back.
  caf::reacts_to<atom::shutdown>,
  /// Internal: respawn a role after its restart delay.
  caf::reacts_to<atom::restart, role>,
  /// Internal: log the periodic summary line.
  caf::reacts_to<atom::tick>>;

// -- fetcher nodes (CAF's middleman) ------------------------------------------

/// A fetcher node's stand-in on the core. Towards the node it is the job
/// queue and the writer (the node's unchanged fetcher holds it as both);
/// towards the job queue it is that node's fetcher, so the queue holds the
/// node's jobs in its name and hands them back the moment it quits. It
/// quits when the node is lost: disconnected, or silent for the heartbeat
/// timeout.
using node_session_actor = job_queue_actor::extend_with<writer_actor>::extend<
  /// The node is alive; replies with its current rate cap (0: none).
  caf::replies_to<atom::heartbeat>::with<double>,
  /// The cluster's membership changed: the node's new rate cap.
  caf::reacts_to<atom::cap, double>,
  /// The core's job queue was restarted: use this handle from now on.
  caf::reacts_to<job_queue_actor>,
  /// The core's writer was restarted: use this handle from now on.
  caf::reacts_to<writer_actor>>;

/// The core's published door for fetcher nodes: it admits nodes that speak
/// its protocol, gives each a session, and keeps the node table.
using cluster_gate_actor = caf::typed_actor<
  /// A node asks to join. Replies with its session and terms, or refuses
  /// (`protocol_mismatch`) with a text for both sides' logs.
  caf::replies_to<atom::join, node_hello>::with<node_session_actor, node_terms>,
  /// Internal: a session's periodic line for the node table.
  caf::reacts_to<atom::report, node_report>,
  /// The core's job queue was restarted: use this handle from now on.
  caf::reacts_to<job_queue_actor>,
  /// The core's writer was restarted: use this handle from now on.
  caf::reacts_to<writer_actor>,
  /// The core's own rate limiter was (re)started: it takes a share of the
  /// cluster's rate like every node.
  caf::reacts_to<rate_limiter_actor>,
  /// Internal: write the node table, prune long-lost nodes.
  caf::reacts_to<atom::tick>>;

/// Writes the node table to `backfilld_cluster_nodes` (a detached store).
using cluster_store_actor = caf::typed_actor<
  /// Upserts these rows and deletes lost nodes older than the timespan.
  caf::replies_to<atom::report, std::vector<node_report>,
                  caf::timespan>::with<int32_t>>;

/// A fetcher node's connection to its core: connects with backoff, joins,
/// runs the fetcher against the session and heartbeats it.
using node_link_actor = caf::typed_actor<
  /// Internal: connect (again) now.
  caf::reacts_to<atom::join>,
  /// Internal: heartbeat the session, check the core's answers.
  caf::reacts_to<atom::tick>,
  /// Stop: the fetcher hands back what it has not started.
  caf::replies_to<atom::drain>::with<int32_t>>;

} // namespace backfilld
