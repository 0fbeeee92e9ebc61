// Writing a price series: one transaction per asset, so an asset has all of
// a series or none of it.

#pragma once

#include <string>

#include "messages/types.hpp"

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace backfilld {

/// COPYs the bars into a staging table that lives only inside the write
/// transaction (`ON COMMIT DROP`: a session temp table would vanish when the
/// connection is silently re-established), then upserts them with
/// `ON CONFLICT (asset_id, date) DO UPDATE … WHERE … IS DISTINCT FROM`, so a
/// replayed series changes nothing and a corrected one converges to what
/// the provider served. A value the provider left out (adjusted close,
/// volume, currency) keeps what is stored.
write_summary write_series(pqxx::connection_base& conn, asset_id asset,
                           const price_series& series);

/// What of a job's series is stored: all of a backfill's, and of an
/// extension's only the days before the first stored price. Yahoo adjusts a
/// whole answer as of the day it answers, so rewriting stored days with it
/// would put one asset's history on two bases.
price_series bars_to_store(const backfill_job& job, price_series series);

/// A price as PostgreSQL `numeric` text, in the shortest form that reads
/// back as the same double ("150.25", not "150.250000000000001").
std::string numeric_text(double x);

} // namespace backfilld
