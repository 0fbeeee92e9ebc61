// Makes the message types serialisable and gives them CAF type IDs.
//
// Every type that crosses an actor boundary is listed in the block below;
// with CAF_ENABLE_TYPE_ID_CHECKS (set by CMakeLists.txt) sending anything
// else fails to compile. Remote nodes rely on the names and field order
// here: change them only together with `middleman.app-identifiers`.

#pragma once

#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>

#include "messages/interfaces.hpp"
#include "messages/types.hpp"

namespace backfilld {

// -- inspectors ---------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, asset_seen& x) {
  return f(caf::meta::type_name("asset_seen"), x.asset, x.transaction,
           x.portfolio);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pg_notification& x) {
  return f(caf::meta::type_name("pg_notification"), x.channel, x.payload,
           x.backend_pid);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backfill_job& x) {
  return f(caf::meta::type_name("backfill_job"), x.id, x.asset, x.kind,
           x.symbol, x.asset_type, x.currency, x.attempts, x.first_transaction,
           x.first_price, x.want_from, x.last_price, x.rewrite_reason,
           x.source);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, refresh_batch& x) {
  return f(caf::meta::type_name("refresh_batch"), x.queued, x.last, x.more);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_failure& x) {
  return f(caf::meta::type_name("job_failure"), x.kind, x.reason,
           x.retry_after_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_verdict& x) {
  return f(caf::meta::type_name("job_verdict"), x.job, x.action, x.delay_ms,
           x.refund_attempt, x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, enqueue_result& x) {
  return f(caf::meta::type_name("enqueue_result"), x.asset, x.symbol, x.outcome,
           x.extension_queued, x.held_back, x.last_error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scan_mark& x) {
  return f(caf::meta::type_name("scan_mark"), x.transaction, x.rows_below,
           x.rewrites);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, catch_up_report& x) {
  return f(caf::meta::type_name("catch_up_report"), x.results, x.mark, x.full);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_release& x) {
  return f(caf::meta::type_name("job_release"), x.jobs, x.refund_attempt);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, price_bar& x) {
  return f(caf::meta::type_name("price_bar"), x.day, x.open, x.high, x.low,
           x.close, x.adj_close, x.volume);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, price_event& x) {
  return f(caf::meta::type_name("price_event"), x.day, x.kind, x.amount,
           x.numerator, x.denominator);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, held_bar& x) {
  return f(caf::meta::type_name("held_bar"), x.day, x.close, x.reason,
           x.evidence);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, price_series& x) {
  return f(caf::meta::type_name("price_series"), x.symbol, x.currency,
           x.exchange_timezone, x.source, x.bars, x.skipped_bars, x.events,
           x.skipped_events, x.held);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, write_summary& x) {
  return f(caf::meta::type_name("write_summary"), x.bars, x.changed,
           x.disagreement, x.new_outliers);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_request& x) {
  return f(caf::meta::type_name("http_request"), x.url, x.headers);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_response& x) {
  return f(caf::meta::type_name("http_response"), x.status, x.content_type,
           x.retry_after_s, x.body);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_hello& x) {
  return f(caf::meta::type_name("node_hello"), x.protocol, x.name);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_terms& x) {
  return f(caf::meta::type_name("node_terms"), x.heartbeat_interval_ms,
           x.heartbeat_timeout_ms, x.rate_cap);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_report& x) {
  return f(caf::meta::type_name("node_report"), x.name, x.connected_since_ms,
           x.last_seen_ms, x.jobs_in_hand, x.done, x.failed, x.per_minute,
           x.lost);
}

// Group commit (perf11).

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series_write& x) {
  return f(caf::meta::type_name("series_write"), x.job, x.series);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stored_outcome& x) {
  return f(caf::meta::type_name("stored_outcome"), x.summary, x.error, x.code);
}

} // namespace backfilld

// -- type IDs -----------------------------------------------------------------

CAF_BEGIN_TYPE_ID_BLOCK(backfilld, caf::first_custom_type_id)

// Message structs.
CAF_ADD_TYPE_ID(backfilld, (backfilld::asset_seen))
CAF_ADD_TYPE_ID(backfilld, (backfilld::pg_notification))
CAF_ADD_TYPE_ID(backfilld, (backfilld::backfill_job))
CAF_ADD_TYPE_ID(backfilld, (backfilld::job_failure))
CAF_ADD_TYPE_ID(backfilld, (backfilld::job_verdict))
CAF_ADD_TYPE_ID(backfilld, (backfilld::enqueue_result))
CAF_ADD_TYPE_ID(backfilld, (backfilld::job_release))
CAF_ADD_TYPE_ID(backfilld, (backfilld::scan_mark))
CAF_ADD_TYPE_ID(backfilld, (backfilld::catch_up_report))
CAF_ADD_TYPE_ID(backfilld, (backfilld::price_bar))
CAF_ADD_TYPE_ID(backfilld, (backfilld::price_event))
CAF_ADD_TYPE_ID(backfilld, (backfilld::held_bar))
CAF_ADD_TYPE_ID(backfilld, (backfilld::price_series))
CAF_ADD_TYPE_ID(backfilld, (backfilld::write_summary))
CAF_ADD_TYPE_ID(backfilld, (backfilld::http_request))
CAF_ADD_TYPE_ID(backfilld, (backfilld::http_response))
CAF_ADD_TYPE_ID(backfilld, (backfilld::role))
CAF_ADD_TYPE_ID(backfilld, (backfilld::refresh_batch))

// Containers that travel as a whole.
CAF_ADD_TYPE_ID(backfilld, (std::vector<backfilld::asset_id>))
CAF_ADD_TYPE_ID(backfilld, (std::vector<backfilld::job_id>))
CAF_ADD_TYPE_ID(backfilld, (std::vector<backfilld::backfill_job>))
CAF_ADD_TYPE_ID(backfilld, (std::vector<backfilld::enqueue_result>))

// Actor handles, sent to rewire peers after a restart.
CAF_ADD_TYPE_ID(backfilld, (backfilld::tracker_actor))
CAF_ADD_TYPE_ID(backfilld, (backfilld::rate_limiter_actor))
CAF_ADD_TYPE_ID(backfilld, (backfilld::writer_actor))
CAF_ADD_TYPE_ID(backfilld, (backfilld::dedupe_actor))
CAF_ADD_TYPE_ID(backfilld, (backfilld::job_queue_actor))
CAF_ADD_TYPE_ID(backfilld, (backfilld::db_watchdog_actor))
CAF_ADD_TYPE_ID(backfilld, (backfilld::scheduler_actor))

// Fetcher nodes (CAF's middleman). Appended, so that the IDs above keep
// their values.
CAF_ADD_TYPE_ID(backfilld, (backfilld::node_hello))
CAF_ADD_TYPE_ID(backfilld, (backfilld::node_terms))
CAF_ADD_TYPE_ID(backfilld, (backfilld::node_report))
CAF_ADD_TYPE_ID(backfilld, (std::vector<backfilld::node_report>))
CAF_ADD_TYPE_ID(backfilld, (backfilld::node_session_actor))
CAF_ADD_TYPE_ID(backfilld, (backfilld::cluster_gate_actor))
// Group commit (perf11).
CAF_ADD_TYPE_ID(backfilld, (backfilld::series_write))
CAF_ADD_TYPE_ID(backfilld, (backfilld::stored_outcome))
CAF_ADD_TYPE_ID(backfilld, (std::vector<backfilld::series_write>))
CAF_ADD_TYPE_ID(backfilld, (std::vector<backfilld::stored_outcome>))

CAF_END_TYPE_ID_BLOCK(backfilld)
