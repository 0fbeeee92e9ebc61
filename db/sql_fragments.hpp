// SQL fragments and helpers shared by the queue's queries (job_queries and
// enqueue_queries). Private to db/.

#pragma once

#include <chrono>

/// The live states; the unique index `backfill_jobs_one_live` covers them.
#define LIVE_STATES "state IN ('pending', 'running')"

// Days are exchanged as counts since 1970-01-01 (see `day_number`).
#define DAY_NUMBER(expr) "(" expr ") - DATE '1970-01-01'"

// The UTC day of an asset's first transaction, whatever the type of the
// tracker's `timestamp` column: a timestamptz is read in UTC, a timestamp
// without time zone as written. (`AT TIME ZONE 'UTC'` on a timestamp makes a
// timestamptz, which `::date` then shifts by the session's TimeZone; the
// type test runs once per asset, on the minimum, not per row.)
#define FIRST_TRANSACTION_DAY(asset)                                           \
  "(SELECT CASE WHEN pg_typeof(m.first) = 'timestamptz'::regtype"              \
  " THEN (m.first AT TIME ZONE 'UTC')::date ELSE m.first::date END"            \
  " FROM (SELECT min(t.timestamp) AS first FROM transactions t"                \
  " WHERE t.asset_id = " asset ") m)"

namespace backfilld {

/// Milliseconds as a bound `float8` parameter (times an interval).
inline double millis(std::chrono::milliseconds x) {
  return static_cast<double>(x.count());
}

} // namespace backfilld
