// The writer alone: ways of getting a year of daily bars per asset into
// asset_prices (primary key and foreign key as in the daemon's schema), so
// that the choice in db/price_queries.cpp is backed by numbers.
//
//   bench_writer_methods URL [assets] [days]
//
// Each method starts from an empty asset_prices and writes the same rows;
// it prints one markdown row per method (rows/s, and the time as a ratio to
// one raw COPY of all rows). Timings are for this machine at this moment:
// compare the ratios of one run, not figures of different runs.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include <pqxx/pqxx>

#include "db/price_queries.hpp"
#include "db/schema.hpp"
#include "messages/types.hpp"

using namespace backfilld;

namespace {

/// Deterministic bars for `asset`: a year of weekdays ending on `last`.
price_series make_series(int asset, int days, day_number last) {
  price_series s;
  s.source = "bench";
  s.currency = "USD";
  for (int i = days - 1; i >= 0; --i) {
    price_bar b;
    b.day = last - i;
    b.close = 10.0 + asset % 97 + i * 0.01;
    b.open = b.close - 0.25;
    b.high = b.close + 0.5;
    b.low = b.close - 0.5;
    b.adj_close = b.close * 0.98;
    b.volume = 1000 + asset + i;
    s.bars.push_back(b);
  }
  return s;
}

const char* upsert_tail = R"sql(
ON CONFLICT (asset_id, date) DO UPDATE
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

std::string values_row(int asset, const price_bar& b) {
  return "(" + std::to_string(asset) + ",DATE '" + iso_date(b.day) + "'," +
         numeric_text(b.open) + "," + numeric_text(b.high) + "," +
         numeric_text(b.low) + "," + numeric_text(b.close) + "," +
         numeric_text(b.adj_close) + "," + std::to_string(b.volume) +
         ",'bench','USD',now())";
}

const char* insert_head =
  "INSERT INTO asset_prices AS p (asset_id, date, open, high, low, close, "
  "adj_close, volume, source, currency, fetched_at) VALUES ";

void per_row(pqxx::work& txn, int asset, const price_series& s) {
  for (const auto& b : s.bars)
    txn.exec(std::string{insert_head} + values_row(asset, b) + upsert_tail);
}

void multi_row(pqxx::work& txn, int asset, const price_series& s) {
  std::string sql = insert_head;
  for (size_t i = 0; i < s.bars.size(); ++i) {
    if (i > 0)
      sql += ',';
    sql += values_row(asset, s.bars[i]);
  }
  txn.exec(sql + upsert_tail);
}

std::string array_of(const price_series& s,
                     const std::function<std::string(const price_bar&)>& f) {
  std::string out = "{";
  for (const auto& b : s.bars) {
    if (out.size() > 1)
      out += ',';
    out += f(b);
  }
  return out + '}';
}

/// INSERT ... SELECT FROM unnest, followed by `tail` (the upsert's ON
/// CONFLICT clause, or nothing for a plain INSERT).
void unnest_with(pqxx::work& txn, int asset, const price_series& s,
                 const std::string& tail) {
  const std::string sql =
    std::string{"INSERT INTO asset_prices AS p (asset_id, date, open, high, "
                "low, close, adj_close, volume, source, currency, fetched_at) "
                "SELECT $1, d, o, h, l, c, a, v, 'bench', 'USD', now() FROM "
                "unnest($2::date[], $3::numeric[], $4::numeric[], "
                "$5::numeric[], $6::numeric[], $7::numeric[], $8::bigint[]) "
                "AS u(d, o, h, l, c, a, v)"} +
    tail;
  txn.exec_params(
    sql, asset, array_of(s, [](auto& b) { return iso_date(b.day); }),
    array_of(s, [](auto& b) { return numeric_text(b.open); }),
    array_of(s, [](auto& b) { return numeric_text(b.high); }),
    array_of(s, [](auto& b) { return numeric_text(b.low); }),
    array_of(s, [](auto& b) { return numeric_text(b.close); }),
    array_of(s, [](auto& b) { return numeric_text(b.adj_close); }),
    array_of(s, [](auto& b) { return std::to_string(b.volume); }));
}

void unnest(pqxx::work& txn, int asset, const price_series& s) {
  unnest_with(txn, asset, s, upsert_tail);
}

void unnest_plain(pqxx::work& txn, int asset, const price_series& s) {
  unnest_with(txn, asset, s, "");
}

void copy_rows(pqxx::work& txn, const std::string& table, int asset,
               const price_series& s) {
  pqxx::stream_to out{
    txn, table,
    std::vector<std::string>{"asset_id", "date", "open", "high", "low", "close",
                             "adj_close", "volume", "source", "currency"}};
  for (const auto& b : s.bars)
    out << std::make_tuple(asset, iso_date(b.day), numeric_text(b.open),
                           numeric_text(b.high), numeric_text(b.low),
                           numeric_text(b.close), numeric_text(b.adj_close),
                           b.volume, std::string{"bench"}, std::string{"USD"});
  out.complete();
}

/// Persistent session staging table: created once, emptied by each commit.
void staged(pqxx::work& txn, int asset, const price_series& s) {
  copy_rows(txn, "bench_stage", asset, s);
  txn.exec(std::string{"INSERT INTO asset_prices AS p (asset_id, date, open, "
                       "high, low, close, adj_close, volume, source, currency, "
                       "fetched_at) SELECT asset_id, date, open, high, low, "
                       "close, adj_close, volume, source, currency, now() FROM "
                       "bench_stage WHERE asset_id = "} +
           std::to_string(asset) + upsert_tail);
}

struct method {
  const char* name;
  /// Assets written per transaction.
  int per_txn;
  std::function<void(pqxx::work&, int, const price_series&)> write;
};

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s URL [assets] [days]\n", argv[0]);
    return 2;
  }
  int assets = argc > 2 ? std::atoi(argv[2]) : 200;
  int days = argc > 3 ? std::atoi(argv[3]) : 250;
  pqxx::connection conn{argv[1]};
  migration_report report;
  migrate(conn, report);
  {
    pqxx::work txn{conn};
    txn.exec("TRUNCATE asset_prices, assets CASCADE");
    txn.exec("INSERT INTO assets (id, symbol) SELECT i, 'W' || i FROM "
             "generate_series(1, " +
             std::to_string(assets) + ") i");
    txn.commit();
  }
  conn.prepare("noop", "SELECT 1");
  std::vector<price_series> series;
  for (int a = 1; a <= assets; ++a)
    series.push_back(make_series(a, days, 20'000));
  auto rows = static_cast<double>(assets) * days;

  std::vector<method> methods = {
    {"raw COPY of all rows, one transaction (the limit)", assets,
     [](pqxx::work& t, int a, const price_series& s) {
       copy_rows(t, "asset_prices", a, s);
     }},
    {"code: write_series as built", 1,
     [](pqxx::work& t, int a, const price_series& s) {
       write_series(t, a, s);
     }},
    {"code: write_series as built, 16 assets a transaction", 16,
     [](pqxx::work& t, int a, const price_series& s) {
       write_series(t, a, s);
     }},
    {"session stage (ON COMMIT DELETE ROWS) + COPY + upsert", 1, staged},
    {"session stage + COPY + upsert, 16 assets a transaction", 16, staged},
    {"INSERT ... SELECT FROM unnest(arrays) upsert", 1, unnest},
    {"unnest upsert, 16 assets a transaction", 16, unnest},
    {"INSERT ... SELECT FROM unnest(arrays), no ON CONFLICT", 1, unnest_plain},
    {"multi-row INSERT upsert (one statement an asset)", 1, multi_row},
    {"per-row INSERT upsert (the original design)", 1, per_row},
  };
  {
    pqxx::work txn{conn};
    txn.exec("CREATE TEMP TABLE bench_stage (LIKE asset_prices) "
             "ON COMMIT DELETE ROWS");
    txn.commit();
  }
  std::printf("| method | rows | seconds | rows/s | time / raw COPY |\n");
  std::printf("|---|---|---|---|---|\n");
  double copy_seconds = 0;
  // The first method runs twice, the first time unreported: it would
  // otherwise pay for the cold caches of every method after it.
  methods.insert(methods.begin(), methods.front());
  bool warm = false;
  for (const auto& m : methods) {
    {
      pqxx::work txn{conn};
      txn.exec("TRUNCATE asset_prices");
      txn.commit();
    }
    auto start = std::chrono::steady_clock::now();
    try {
      for (int a = 1; a <= assets; a += m.per_txn) {
        pqxx::work txn{conn};
        for (int b = a; b < std::min(a + m.per_txn, assets + 1); ++b)
          m.write(txn, b, series[b - 1]);
        txn.commit();
      }
    } catch (const std::exception& e) {
      // The code's temporary table cannot serve two assets in one
      // transaction: shown, not hidden.
      std::string what = e.what();
      what = what.substr(0, what.find('\n'));
      std::printf("| %s | fails: %s | | | |\n", m.name, what.c_str());
      continue;
    }
    auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
        .count();
    if (!warm) {
      warm = true;
      continue;
    }
    if (copy_seconds == 0)
      copy_seconds = seconds;
    std::printf("| %s | %.0f | %.3f | %.0f | %.2f |\n", m.name, rows, seconds,
                rows / seconds, seconds / copy_seconds);
    std::fflush(stdout);
  }
  return 0;
}
