#include "db/price_queries.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <tuple>

#include <pqxx/pqxx>

#include "messages/types.hpp"

namespace backfilld {

namespace {

const char* create_stage_sql = R"sql(
CREATE TEMP TABLE backfilld_stage (
  date date NOT NULL,
  open numeric, high numeric, low numeric, close numeric, adj_close numeric,
  volume bigint
) ON COMMIT DROP
)sql";

const char* upsert_sql = R"sql(
INSERT INTO asset_prices AS p
  (asset_id, date, open, high, low, close, adj_close, volume, source,
   currency, fetched_at)
SELECT $1, s.date, s.open, s.high, s.low, s.close, s.adj_close, s.volume,
       $2, nullif($3, ''), now()
FROM backfilld_stage s
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
)sql";

const std::array<std::string, 7> stage_columns = {
  "date", "open", "high", "low", "close", "adj_close", "volume"};

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

write_summary write_series(pqxx::connection_base& conn, asset_id asset,
                           const price_series& series) {
  pqxx::work txn{conn};
  txn.exec(create_stage_sql);
  {
    pqxx::stream_to stage{txn, "backfilld_stage", stage_columns};
    for (const auto& bar : series.bars) {
      std::optional<std::string> adj_close;
      if (bar.has_adj_close())
        adj_close = numeric_text(bar.adj_close);
      std::optional<std::string> volume;
      if (bar.has_volume())
        volume = std::to_string(bar.volume);
      stage << std::make_tuple(iso_date(bar.day), numeric_text(bar.open),
                               numeric_text(bar.high), numeric_text(bar.low),
                               numeric_text(bar.close), adj_close, volume);
    }
    stage.complete();
  }
  auto changed =
    txn.exec_params(upsert_sql, asset, series.source, series.currency);
  txn.commit();
  return write_summary{static_cast<int32_t>(series.bars.size()),
                       static_cast<int32_t>(changed.affected_rows())};
}

} // namespace backfilld
