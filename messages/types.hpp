// The data that travels between backfilld's actors.
//
// These are plain structs with no CAF dependency, so the pure parts of the
// code base (parsers, SQL, policies) and the fuzz targets can use them without
// pulling in the actor framework. `messages/type_ids.hpp` makes them
// serialisable and registers them with CAF.

#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "messages/ec.hpp"

namespace backfilld {

/// Primary key of the tracker's `assets` table.
using asset_id = int32_t;

/// Primary key of backfilld's `backfill_jobs` table.
using job_id = int64_t;

/// A day as a count of days since 1970-01-01 (the `date::sys_days` epoch).
using day_number = int32_t;

/// Marks an absent `day_number`.
constexpr day_number no_day = INT32_MIN;

/// ISO form of a day, e.g. "2024-03-08"; "none" for `no_day`.
std::string iso_date(day_number day);

// -- notifications ------------------------------------------------------------

/// A transaction for this asset was inserted (or someone sent a test NOTIFY).
/// It only wakes the queue: the jobs table, not this message, is the record.
struct asset_seen {
  asset_id asset = 0;
  /// Zero when the payload did not carry it.
  int64_t transaction = 0;
  /// Zero when the payload did not carry it.
  int32_t portfolio = 0;
};

/// A raw NOTIFY as the listener's connection received it.
struct pg_notification {
  std::string channel;
  std::string payload;
  int32_t backend_pid = 0;
};

// -- jobs ---------------------------------------------------------------------

/// What a job asks the provider for.
enum class job_kind : uint8_t {
  /// The asset has no prices: fetch the configured range (or back to the
  /// earliest transaction when that is older).
  backfill,
  /// The asset has prices, but a transaction predates them by more than a
  /// week: fetch the gap back to that transaction, once.
  extend,
  /// The asset is tracked and has prices: fetch what is missing since its
  /// last stored day (with an overlap for late corrections) or since the
  /// earliest hole in its history. Claimed after every backfill and extend.
  refresh,
};

/// A claimed row of `backfill_jobs` together with what the fetcher needs to
/// know about its asset. A fetcher holds it under a lease until it reports the
/// outcome.
struct backfill_job {
  job_id id = 0;
  asset_id asset = 0;
  job_kind kind = job_kind::backfill;
  /// The tracker's symbol, before mapping it to the provider's convention.
  std::string symbol;
  /// `assets.asset_type`, e.g. "stock", "crypto", "cash".
  std::string asset_type;
  /// `assets.currency`, empty when NULL.
  std::string currency;
  /// How many times this job has been claimed, this claim included.
  int32_t attempts = 0;
  /// Day of the asset's earliest transaction (UTC), or `no_day`.
  day_number first_transaction = no_day;
  /// Day of the asset's earliest stored price, or `no_day`.
  day_number first_price = no_day;
  /// For `extend`: the day the extension must reach back to. For `refresh`:
  /// the last stored day before the earliest hole in the stored history (a
  /// run of missing weekdays longer than `refresh.gap-days`), or `no_day`.
  day_number want_from = no_day;
  /// Day of the asset's newest stored price, or `no_day` (claimed with
  /// `refresh` jobs; a refresh asks from there, minus the overlap).
  day_number last_price = no_day;
  /// Set by the fetcher for one attempt only (never stored in the table)
  /// when the extension's answer disagreed with the stored history: what
  /// disagreed, for the log. The attempt then fetches `want_from` to today
  /// and rewrites all of it, so that the history is on one basis.
  std::string rewrite_reason;
  /// The provider the tracker's `assets` row names for this asset (the
  /// column `providers.source-column`), as written there; empty when none.
  /// It goes first in the asset's chain.
  std::string source;

  bool rewrites_history() const {
    return !rewrite_reason.empty();
  }
};

/// One batch of a scheduled refresh run, as the scheduler's store did it.
struct refresh_batch {
  /// Refresh jobs queued (new or revived) in this batch.
  int32_t queued = 0;
  /// The highest asset id looked at: the next batch starts after it.
  asset_id last = 0;
  /// False when the run looked at every asset it covers.
  bool more = false;
};

/// How a failed attempt should be treated.
enum class failure_kind : uint8_t {
  /// Worth retrying after a backoff (network, 5xx, database hiccup).
  transient,
  /// The provider asked us to slow down (429): retry later without counting
  /// the attempt against the job.
  throttled,
  /// Retrying cannot help (unknown symbol, no market price, bad symbol).
  permanent,
};

/// Why one attempt at a job failed.
struct job_failure {
  failure_kind kind = failure_kind::transient;
  /// Rendered for logs and for `backfill_jobs.last_error`.
  std::string reason;
  /// The provider's `Retry-After`, in milliseconds; zero when absent.
  int64_t retry_after_ms = 0;
};

/// What the queue does with a job after a failed attempt.
enum class verdict_action : uint8_t {
  /// Back to `pending` after the verdict's delay.
  retry,
  /// State `failed` after attempts ran out on transient trouble (an outage):
  /// catch-up revives it after `retry.revive-after`.
  give_up,
  /// State `failed` for good: retrying cannot help (unknown symbol, no market
  /// price). Only `backfilld retry` revives it.
  give_up_permanent,
};

/// What the queue decided after a failure: the row's next state.
struct job_verdict {
  job_id job = 0;
  verdict_action action = verdict_action::retry;
  /// With `retry`: how long the job waits before it is due again.
  int64_t delay_ms = 0;
  /// Give the attempt back (throttling is not the job's fault).
  bool refund_attempt = false;
  std::string reason;

  bool gives_up() const {
    return action != verdict_action::retry;
  }

  bool permanent() const {
    return action == verdict_action::give_up_permanent;
  }
};

/// Jobs going back to the table before they finished.
struct job_release {
  std::vector<job_id> jobs;
  /// True when they never started (drain); false when their holder died.
  bool refund_attempt = true;
};

/// What the queue did with one asset named by a notification.
enum class enqueue_outcome : uint8_t {
  /// A new backfill job now waits in the table.
  queued,
  /// A live job already existed: nothing to do.
  already_queued,
  /// The asset already has prices: only its tracking needs a refresh.
  has_prices,
  /// A previous backfill failed permanently; `backfilld retry` revives it.
  failed_before,
  /// No such row in `assets`.
  unknown_asset,
};

/// Why a failed job holds its asset back (with `failed_before`).
enum class hold_reason : uint8_t {
  /// Not held back.
  none,
  /// Cash or a custom asset: no provider has a price for it.
  no_market_price,
  /// Retrying cannot help (unknown symbol) until an operator asks.
  permanent_failure,
  /// Attempts ran out on transient trouble; catch-up revives it later.
  attempts_ran_out,
};

/// One asset's row in the reply to an enqueue batch.
struct enqueue_result {
  asset_id asset = 0;
  std::string symbol;
  enqueue_outcome outcome = enqueue_outcome::unknown_asset;
  /// True when an `extend` job was queued as well.
  bool extension_queued = false;
  /// For `failed_before`: why the failure holds the asset back.
  hold_reason held_back = hold_reason::none;
  /// For `failed_before`: the failure's text, for the log.
  std::string last_error;
};

/// How far a catch-up scan read `transactions`.
struct scan_mark {
  /// The highest `transactions.id` it saw (0 when there were none): the next
  /// incremental scan reads the transactions after it. Negative asks for a
  /// full scan.
  int64_t transaction = -1;
  /// How many rows the ids just below it held (see `catch_up_overlap`): a
  /// later count that differs means that rows committed late.
  int64_t rows_below = 0;
  /// Rows of `transactions` deleted or updated so far, by the server's
  /// statistics: a change means that some asset's count may have dropped,
  /// which only a full scan sees.
  int64_t rewrites = 0;
};

/// What a catch-up scan did.
struct catch_up_report {
  /// One result per asset the scan looked at.
  std::vector<enqueue_result> results;
  scan_mark mark;
  /// Whether it looked at every asset (else only at what changed).
  bool full = false;
};

// -- prices -------------------------------------------------------------------

/// One daily bar, dated on the exchange's own calendar.
struct price_bar {
  day_number day = no_day;
  double open = 0;
  double high = 0;
  double low = 0;
  double close = 0;
  /// Dividend- and split-adjusted close; not positive when the provider
  /// sent none. (Not NaN: CAF 0.17's serializer turns NaN into -1.)
  double adj_close = -1;
  /// Negative when the provider sent none.
  int64_t volume = -1;

  bool has_adj_close() const {
    return adj_close > 0;
  }

  bool has_volume() const {
    return volume >= 0;
  }
};

/// A corporate action the provider announced with a series.
enum class event_kind : uint8_t {
  /// A cash dividend going ex on the event's day.
  dividend,
  /// A split (or reverse split) effective on the event's day.
  split,
};

/// A dividend or split, dated on the exchange's calendar like the bars.
struct price_event {
  day_number day = no_day;
  event_kind kind = event_kind::dividend;
  /// A dividend's cash per share, in the series' currency; 0 for a split.
  double amount = 0;
  /// A split gives `numerator` new shares for `denominator` old ones:
  /// 10 for 1 (NFLX 2024) divides prices by 10, 1 for 10 (a reverse split)
  /// multiplies them by 10. Both 0 for a dividend.
  double numerator = 0;
  double denominator = 0;

  /// New shares per old share, for a split.
  double ratio() const {
    return numerator / denominator;
  }
};

/// A bar the outlier check held back: not stored, recorded with why.
struct held_bar {
  day_number day = no_day;
  double close = 0;
  /// "spike" or "minor_unit" (see policy/outliers.hpp).
  std::string reason;
  /// The neighbours' closes, for the log and `price_outliers.evidence`.
  std::string evidence;
};

/// A provider's answer for one symbol: bars sorted by day, one per day.
struct price_series {
  /// The provider's symbol, as it echoed it back.
  std::string symbol;
  /// As served, minor units included ("GBp" means pence): never rescaled.
  std::string currency;
  /// IANA zone used to date the bars, e.g. "America/New_York".
  std::string exchange_timezone;
  /// Which provider served it ("yahoo").
  std::string source;
  std::vector<price_bar> bars;
  /// Bars dropped because a value was null, NaN or not positive.
  int32_t skipped_bars = 0;
  /// Dividends and splits within the window, sorted by day.
  std::vector<price_event> events;
  /// Events dropped because a value was null, NaN or not positive.
  int32_t skipped_events = 0;
  /// Bars the writer's outlier check took out of `bars`: the store records
  /// them in `price_outliers` instead.
  std::vector<held_bar> held;
};

/// What the writer stored for one series.
struct write_summary {
  /// Bars in the series (all present in the table after the write).
  int32_t bars = 0;
  /// Rows inserted or changed; zero when replaying an identical series.
  int32_t changed = 0;
  /// For an extension: what of the stored history the answer disagrees with
  /// beyond `basis_tolerance`, e.g. "close of 2024-03-08: stored 200.5,
  /// served 100.25"; then nothing was written. Empty when they agree.
  std::string disagreement;
  /// Days of `price_series::held` that were not on record yet (each is
  /// logged once, however often the provider serves it again).
  std::vector<day_number> new_outliers{};

  bool basis_changed() const {
    return !disagreement.empty();
  }
};

// -- transport between actors and their I/O shells ----------------------------

/// An HTTP GET for a fetcher's I/O worker.
struct http_request {
  std::string url;
  /// Extra (name, value) headers, e.g. a provider's key: keys travel here,
  /// never in the URL, which is logged.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// What came back, whatever the status; transport failures travel as errors.
struct http_response {
  int32_t status = 0;
  std::string content_type;
  /// Seconds from a `Retry-After` header; negative when absent.
  int64_t retry_after_s = -1;
  std::string body;
};

// -- supervision --------------------------------------------------------------

/// The pipeline's roles, each supervised and restarted on its own. Listed in
/// start order: each needs only those before it.
enum class role : uint8_t {
  tracker,
  rate_limiter,
  writer,
  job_queue,
  dedupe,
  fetcher,
  listener,
  scheduler,
};

/// Every role, in start order.
constexpr role all_roles[] = {
  role::tracker, role::rate_limiter, role::writer,   role::job_queue,
  role::dedupe,  role::fetcher,      role::listener, role::scheduler};

/// Every job kind: metrics label their counters and gauges with these, so a
/// new kind needs adding here as well as to `job_kind` and its `to_string`.
constexpr job_kind all_job_kinds[] = {job_kind::backfill, job_kind::extend,
                                      job_kind::refresh};

// -- fetcher nodes ------------------------------------------------------------

/// The version of the messages between a core and its fetcher nodes. Bump it
/// whenever a message that crosses nodes changes (a field, a type, an
/// interface); the core refuses a node that states another one.
constexpr int32_t cluster_protocol_version = 1;

/// What a fetcher node says when it joins the core. Its layout never
/// changes, version first, so that a core can always tell an old or a new
/// node why it is refused.
struct node_hello {
  int32_t protocol = 0;
  /// `cluster.node-name`: names the node in both sides' logs and in status.
  std::string name;
};

/// What the core tells a node it accepted.
struct node_terms {
  /// How often the node says it is alive, and how long either side waits
  /// for the other before it gives the connection up.
  int64_t heartbeat_interval_ms = 2'000;
  int64_t heartbeat_timeout_ms = 10'000;
  /// The node's share of `cluster.requests-per-second` (requests a second,
  /// per provider); zero when the cluster has no cap.
  double rate_cap = 0;
};

/// A node's line in the core's node table (and `backfilld status`).
struct node_report {
  std::string name;
  /// Unix milliseconds.
  int64_t connected_since_ms = 0;
  int64_t last_seen_ms = 0;
  int32_t jobs_in_hand = 0;
  int64_t done = 0;
  int64_t failed = 0;
  /// Jobs done in the last minute.
  int32_t per_minute = 0;
  /// Empty while connected; else why the node was lost.
  std::string lost;
};

// -- readable enums (for logs, SQL and test failure output) -------------------

/// "backfill", "extend" or "refresh", as stored in `backfill_jobs.kind`.
const char* to_string(job_kind x);
const char* to_string(failure_kind x);
const char* to_string(enqueue_outcome x);
const char* to_string(verdict_action x);
const char* to_string(hold_reason x);
/// "dividend" or "split", as stored in `asset_events.kind`.
const char* to_string(event_kind x);
/// The role's name in logs and failpoints, e.g. "rate-limiter".
const char* to_string(role x);

// -- group commit (perf11) ----------------------------------------------------

/// One job's series in a group commit: what the writer hands its store.
struct series_write {
  backfill_job job;
  price_series series;
};

/// What a group commit did with one job: `summary` as for a single write,
/// or, when `error` is not empty, nothing stored for that job (`code` says
/// why, `error` in the server's words).
struct stored_outcome {
  write_summary summary;
  std::string error;
  ec code = ec::none;

  bool failed() const {
    return !error.empty();
  }
};

} // namespace backfilld
