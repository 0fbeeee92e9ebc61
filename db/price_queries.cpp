#include "db/price_queries.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <functional>
#include <optional>
#include <tuple>

#include <pqxx/pqxx>

#include "db/prepared.hpp"
#include "messages/types.hpp"

namespace backfilld {

namespace {

// A series' rows as `write_bars` binds them: $1 the asset, $2 the source, $3
// the currency ('' for none), $4.. one array per column. Shared by both
// writes so that their column lists cannot drift apart.
#define INSERT_SERIES_ROWS                                                     \
  "INSERT INTO asset_prices AS p"                                              \
  " (asset_id, date, open, high, low, close, adj_close, volume, source,"       \
  " currency, fetched_at)"                                                     \
  " SELECT $1, s.date, s.open, s.high, s.low, s.close, s.adj_close, s.volume," \
  " $2, nullif($3, ''), now()"                                                 \
  " FROM unnest($4::date[], $5::numeric[], $6::numeric[], $7::numeric[],"      \
  " $8::numeric[], $9::numeric[], $10::bigint[])"                              \
  " AS s(date, open, high, low, close, adj_close, volume)"

const prepared_sql upsert_sql{"backfilld_upsert_prices",
                              INSERT_SERIES_ROWS R"sql(
ON CONFLICT (asset_id, date) DO UPDATE
-- A value the provider left out this time (no adjusted close, no volume, no
-- currency) keeps what an earlier answer stored.
SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,
    close = EXCLUDED.close,
    adj_close = coalesce(EXCLUDED.adj_close, p.adj_close),
    volume = coalesce(EXCLUDED.volume, p.volume), source = EXCLUDED.source,
    currency = coalesce(EXCLUDED.currency, p.currency),
    fetched_at = EXCLUDED.fetched_at
WHERE (p.open, p.high, p.low, p.close, p.adj_close, p.volume, p.currency)
      IS DISTINCT FROM
      (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close,
       coalesce(EXCLUDED.adj_close, p.adj_close),
       coalesce(EXCLUDED.volume, p.volume),
       coalesce(EXCLUDED.currency, p.currency))
)sql"};

// A first backfill's rows, with a plain INSERT: nothing is stored for the
// asset on the days the series spans ($4's first to last), so no row can
// conflict and PostgreSQL is spared the speculative insertion behind ON
// CONFLICT, which cost about as much as the rows themselves (bench/README.md).
// Inserts nothing at all when some day of that span is stored.
const prepared_sql insert_fresh_sql{"backfilld_insert_fresh_prices",
                                    INSERT_SERIES_ROWS R"sql(
WHERE NOT EXISTS (
  SELECT 1 FROM asset_prices stored
  WHERE stored.asset_id = $1
    AND stored.date BETWEEN (SELECT min(d) FROM unnest($4::date[]) d)
                   AND (SELECT max(d) FROM unnest($4::date[]) d))
)sql"};

// The stored prices on the days an extension's answer covers, and the first
// stored day: read in the transaction that writes, so that the check and
// the cut-off see the same history. A row without a close (some trackers
// write partial rows) cannot be compared and does not count.
const char* stored_closes_sql = R"sql(
SELECT date - DATE '1970-01-01' AS day, close::float8 AS close,
       coalesce(adj_close::float8, -1) AS adj_close
FROM asset_prices
WHERE asset_id = $1 AND close IS NOT NULL
  AND date BETWEEN DATE '1970-01-01' + $2::int AND DATE '1970-01-01' + $3::int
ORDER BY date
)sql";

const char* first_stored_sql = R"sql(
SELECT min(date) - DATE '1970-01-01' FROM asset_prices WHERE asset_id = $1
)sql";

} // namespace

std::string numeric_text(double x) {
  std::array<char, 64> buf;
  auto [end, err] = std::to_chars(buf.data(), buf.data() + buf.size(), x);
  if (err != std::errc{})
    return "NaN";
  return std::string{buf.data(), end};
}

price_series bars_to_store(const backfill_job& job, price_series series) {
  if (job.kind == job_kind::extend && job.first_price != no_day) {
    auto& bars = series.bars;
    bars.erase(std::remove_if(bars.begin(), bars.end(),
                              [&](const price_bar& bar) {
                                return bar.day >= job.first_price;
                              }),
               bars.end());
  }
  return series;
}

namespace {

/// One column of `bars` as a PostgreSQL array literal; `value` gives an
/// element's text, or nothing for NULL.
template <class Value>
std::string array_literal(const std::vector<price_bar>& bars, Value value) {
  std::string out = "{";
  for (const auto& bar : bars) {
    if (out.size() > 1)
      out += ',';
    std::optional<std::string> text = value(bar);
    out += text ? *text : "NULL";
  }
  out += '}';
  return out;
}

/// A price the provider did not serve is NULL, not a number: the rate-only
/// providers (Frankfurter, CoinGecko) have no open, high or low and mark
/// them non-positive.
std::optional<std::string> price_or_null(double x) {
  if (!(x > 0))
    return std::nullopt;
  return numeric_text(x);
}

/// Runs `sql` (upsert_sql or insert_fresh_sql) on `bars` of `asset`. The
/// rows travel as arrays (INSERT ... SELECT FROM unnest): no temporary table
/// is created and dropped per write, which bench_writer_methods showed to
/// cost more than the rows themselves (bench/results/).
write_summary write_bars(pqxx::transaction_base& txn, const prepared_sql& sql,
                         asset_id asset, const price_series& series,
                         const std::vector<price_bar>& bars) {
  using text = std::optional<std::string>;
  auto changed = exec_prepared(
    txn, sql, asset, series.source, series.currency,
    array_literal(bars,
                  [](const price_bar& b) -> text { return iso_date(b.day); }),
    array_literal(
      bars, [](const price_bar& b) -> text { return price_or_null(b.open); }),
    array_literal(
      bars, [](const price_bar& b) -> text { return price_or_null(b.high); }),
    array_literal(
      bars, [](const price_bar& b) -> text { return price_or_null(b.low); }),
    array_literal(
      bars, [](const price_bar& b) -> text { return numeric_text(b.close); }),
    array_literal(bars,
                  [](const price_bar& b) -> text {
                    if (!b.has_adj_close())
                      return std::nullopt;
                    return numeric_text(b.adj_close);
                  }),
    array_literal(bars, [](const price_bar& b) -> text {
      if (!b.has_volume())
        return std::nullopt;
      return std::to_string(b.volume);
    }));
  write_summary summary;
  summary.bars = static_cast<int32_t>(bars.size());
  summary.changed = static_cast<int32_t>(changed.affected_rows());
  return summary;
}

/// Upserts `bars` for `asset` inside `txn` in one statement.
write_summary upsert_bars(pqxx::transaction_base& txn, asset_id asset,
                          const price_series& series,
                          const std::vector<price_bar>& bars) {
  return write_bars(txn, upsert_sql, asset, series, bars);
}

/// Whether `served` strays from `stored` by more than `tolerance`.
bool strays(double served, double stored, double tolerance) {
  return std::abs(served - stored) > tolerance * std::abs(stored);
}

} // namespace

write_summary
insert_or_upsert(const std::function<write_summary(write_path)>& store,
                 const std::function<void()>& undo) {
  try {
    return store(write_path::insert_when_new);
  } catch (const pqxx::unique_violation&) {
    // Another writer stored some of these days since the check.
    if (undo)
      undo();
    return store(write_path::upsert);
  }
}

write_summary in_own_transaction(
  pqxx::connection_base& conn,
  const std::function<write_summary(pqxx::transaction_base&)>& write) {
  pqxx::work txn{conn};
  auto summary = write(txn);
  if (summary.basis_changed())
    txn.abort();
  else
    txn.commit();
  return summary;
}

write_summary write_series(pqxx::connection_base& conn, asset_id asset,
                           const price_series& series) {
  return insert_or_upsert([&](write_path path) {
    return in_own_transaction(conn, [&](pqxx::transaction_base& txn) {
      return write_series(txn, asset, series, path);
    });
  });
}

write_summary write_series(pqxx::transaction_base& txn, asset_id asset,
                           const price_series& series, write_path path) {
  if (path == write_path::insert_when_new && !series.bars.empty()) {
    auto fresh = write_bars(txn, insert_fresh_sql, asset, series, series.bars);
    if (fresh.changed > 0)
      return fresh;
  }
  return upsert_bars(txn, asset, series, series.bars);
}

std::string basis_disagreement(const std::vector<price_bar>& served,
                               const std::vector<stored_close>& stored,
                               double tolerance) {
  auto describe = [](const char* what, day_number day, double was, double now) {
    return std::string{what} + " of " + iso_date(day) + ": stored " +
           numeric_text(was) + ", served " + numeric_text(now);
  };
  auto s = stored.begin();
  for (const auto& bar : served) {
    while (s != stored.end() && s->day < bar.day)
      ++s;
    if (s == stored.end())
      break;
    if (s->day != bar.day)
      continue;
    if (strays(bar.close, s->close, tolerance))
      return describe("close", bar.day, s->close, bar.close);
    // Yahoo's adjusted close moves with every dividend: compared too, but
    // only where both sides have one.
    if (bar.has_adj_close() && s->adj_close > 0 &&
        strays(bar.adj_close, s->adj_close, tolerance))
      return describe("adjusted close", bar.day, s->adj_close, bar.adj_close);
  }
  return {};
}

std::vector<stored_close> stored_closes(pqxx::transaction_base& txn,
                                        asset_id asset,
                                        const price_series& series) {
  std::vector<stored_close> stored;
  if (series.bars.empty())
    return stored;
  for (const auto& row :
       txn.exec_params(stored_closes_sql, asset, series.bars.front().day,
                       series.bars.back().day))
    stored.push_back(stored_close{row[0].as<day_number>(), row[1].as<double>(),
                                  row[2].as<double>()});
  return stored;
}

day_number first_stored_day(pqxx::transaction_base& txn, asset_id asset) {
  auto first = txn.exec_params1(first_stored_sql, asset)[0];
  return first.is_null() ? no_day : first.as<day_number>();
}

write_summary write_refresh(pqxx::connection_base& conn, asset_id asset,
                            const price_series& series, double tolerance) {
  return in_own_transaction(conn, [&](pqxx::transaction_base& txn) {
    return write_refresh(txn, asset, series, tolerance);
  });
}

write_summary write_refresh(pqxx::transaction_base& txn, asset_id asset,
                            const price_series& series, double tolerance) {
  write_summary summary;
  if (!series.bars.empty()) {
    auto stored = stored_closes(txn, asset, series);
    // The newest stored day is the one most often corrected late (and the
    // one a live bar could have been stored for): it is corrected in place.
    // A new basis shows on every older day of the overlap too.
    if (stored.size() > 1)
      stored.pop_back();
    summary.disagreement = basis_disagreement(series.bars, stored, tolerance);
    if (summary.basis_changed())
      return summary; // Nothing written: the caller rewrites it all instead.
  }
  return upsert_bars(txn, asset, series, series.bars);
}

write_summary write_extension(pqxx::connection_base& conn, asset_id asset,
                              const price_series& series, double tolerance) {
  return in_own_transaction(conn, [&](pqxx::transaction_base& txn) {
    return write_extension(txn, asset, series, tolerance);
  });
}

write_summary write_extension(pqxx::transaction_base& txn, asset_id asset,
                              const price_series& series, double tolerance) {
  write_summary summary;
  if (!series.bars.empty()) {
    auto stored = stored_closes(txn, asset, series);
    summary.disagreement = basis_disagreement(series.bars, stored, tolerance);
    if (summary.basis_changed())
      return summary; // Nothing written: the caller rewrites it all instead.
  }
  auto first = first_stored_day(txn, asset);
  std::vector<price_bar> older;
  for (const auto& bar : series.bars)
    if (first == no_day || bar.day < first)
      older.push_back(bar);
  return upsert_bars(txn, asset, series, older);
}

} // namespace backfilld
