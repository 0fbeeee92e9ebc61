#include "db/schema.hpp"

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "db/connection.hpp"

namespace backfilld {

namespace {

/// Serialises migrations across daemons (an arbitrary constant: "bfld").
constexpr long long migration_lock = 0x62666c64;

struct migration {
  int version;
  const char* description;
  const char* sql;
};

// Never edit a migration that has shipped; append a new one instead.
const std::vector<migration> migrations = {
  {1, "tracker tables, price columns, notify trigger, job queue", R"sql(
CREATE TABLE IF NOT EXISTS assets (
  id serial PRIMARY KEY,
  symbol text NOT NULL,
  asset_type text NOT NULL DEFAULT 'stock',
  currency text
);

CREATE TABLE IF NOT EXISTS transactions (
  id bigserial PRIMARY KEY,
  portfolio_id int NOT NULL,
  asset_id int NOT NULL REFERENCES assets (id),
  quantity numeric NOT NULL,
  price numeric NOT NULL,
  timestamp timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS asset_prices (
  asset_id int NOT NULL REFERENCES assets (id),
  date date NOT NULL,
  open numeric,
  high numeric,
  low numeric,
  close numeric,
  adj_close numeric,
  volume bigint,
  source text,
  fetched_at timestamptz,
  currency text,
  PRIMARY KEY (asset_id, date)
);

-- Columns an older tracker schema may lack; adding them rewrites nothing.
ALTER TABLE asset_prices ADD COLUMN IF NOT EXISTS open numeric;
ALTER TABLE asset_prices ADD COLUMN IF NOT EXISTS high numeric;
ALTER TABLE asset_prices ADD COLUMN IF NOT EXISTS low numeric;
ALTER TABLE asset_prices ADD COLUMN IF NOT EXISTS close numeric;
ALTER TABLE asset_prices ADD COLUMN IF NOT EXISTS adj_close numeric;
ALTER TABLE asset_prices ADD COLUMN IF NOT EXISTS volume bigint;
ALTER TABLE asset_prices ADD COLUMN IF NOT EXISTS source text;
ALTER TABLE asset_prices ADD COLUMN IF NOT EXISTS fetched_at timestamptz;
-- As the provider served it, minor units included ("GBp" is pence).
ALTER TABLE asset_prices ADD COLUMN IF NOT EXISTS currency text;

CREATE TABLE IF NOT EXISTS tracked_assets (
  asset_id int PRIMARY KEY REFERENCES assets (id),
  tracking_users int NOT NULL,
  last_price_update timestamptz
);

-- ON CONFLICT needs a unique index on exactly these columns; a tracker
-- schema without one gets it (this fails loudly if duplicates exist).
DO $$
DECLARE
  missing_unique boolean;
BEGIN
  SELECT NOT EXISTS (
    SELECT 1 FROM pg_index i
    WHERE i.indrelid = 'asset_prices'::regclass AND i.indisunique
      AND i.indpred IS NULL
      AND (SELECT array_agg(a.attname::text ORDER BY a.attname)
           FROM unnest(i.indkey) AS k (attnum)
           JOIN pg_attribute a
             ON a.attrelid = i.indrelid AND a.attnum = k.attnum)
          = ARRAY['asset_id', 'date'])
  INTO missing_unique;
  IF missing_unique THEN
    CREATE UNIQUE INDEX backfilld_asset_prices_day
      ON asset_prices (asset_id, date);
  END IF;
  SELECT NOT EXISTS (
    SELECT 1 FROM pg_index i
    WHERE i.indrelid = 'tracked_assets'::regclass AND i.indisunique
      AND i.indpred IS NULL AND i.indnatts = 1
      AND (SELECT a.attname FROM pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[0])
          = 'asset_id')
  INTO missing_unique;
  IF missing_unique THEN
    CREATE UNIQUE INDEX backfilld_tracked_assets_asset
      ON tracked_assets (asset_id);
  END IF;
END
$$;

-- The index on transactions (asset_id) that catch-up and tracking need is
-- not built here: inside this transaction it would block the tracker's
-- inserts for the whole build. See `ensure_transactions_index`.

-- The tracker's own trigger wins: only create ours where none exists.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_proc
                 WHERE proname = 'notify_transaction_created') THEN
    CREATE FUNCTION notify_transaction_created() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    BEGIN
      PERFORM pg_notify('transaction_created',
                        json_build_object('asset_id', NEW.asset_id,
                                          'transaction_id', NEW.id,
                                          'portfolio_id', NEW.portfolio_id)::text);
      RETURN NEW;
    END
    $fn$;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger
                 WHERE tgname = 'transaction_created_trigger'
                   AND tgrelid = 'transactions'::regclass) THEN
    CREATE TRIGGER transaction_created_trigger
      AFTER INSERT ON transactions
      FOR EACH ROW EXECUTE FUNCTION notify_transaction_created();
  END IF;
END
$$;

-- The queue: the work that must not be lost lives here, not in a NOTIFY.
CREATE TABLE IF NOT EXISTS backfill_jobs (
  id bigserial PRIMARY KEY,
  asset_id int NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
  kind text NOT NULL DEFAULT 'backfill'
    CHECK (kind IN ('backfill', 'extend')),
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'running', 'done', 'failed')),
  attempts int NOT NULL DEFAULT 0,
  -- For 'extend': the day the history must reach back to.
  want_from date,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  locked_by text,
  locked_until timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);

-- One live job per asset and kind.
CREATE UNIQUE INDEX IF NOT EXISTS backfill_jobs_one_live
  ON backfill_jobs (asset_id, kind) WHERE state IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS backfill_jobs_due
  ON backfill_jobs (next_attempt_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS backfill_jobs_leased
  ON backfill_jobs (locked_until) WHERE state = 'running';
CREATE INDEX IF NOT EXISTS backfill_jobs_asset
  ON backfill_jobs (asset_id, kind, state);
)sql"},
  {2, "tell permanent failures from attempts that ran out", R"sql(
-- Failures recorded before this column existed stay put until retried.
ALTER TABLE backfill_jobs
  ADD COLUMN IF NOT EXISTS permanent boolean NOT NULL DEFAULT true;
)sql"},
  {3, "claims tied to the holder's session; unanswered claims readable",
   R"sql(
-- The database session holding a running job. When that session is gone (its
-- daemon was killed), any daemon takes the job at once instead of waiting
-- for the lease; pid and start time together name one session for good.
ALTER TABLE backfill_jobs ADD COLUMN IF NOT EXISTS holder_pid int;
ALTER TABLE backfill_jobs ADD COLUMN IF NOT EXISTS holder_started timestamptz;
-- Names the claim that took a job, so a claim whose commit went unanswered
-- can be read back instead of guessed at.
ALTER TABLE backfill_jobs ADD COLUMN IF NOT EXISTS claim_token text;
-- Attempts that ran out on "no data" in a row: the second such run is
-- permanent, so a dead symbol stops costing requests every revival.
ALTER TABLE backfill_jobs
  ADD COLUMN IF NOT EXISTS no_data_runs int NOT NULL DEFAULT 0;
)sql"},
  {4, "refresh jobs, claimed after first backfills; per-asset refresh state",
   R"sql(
ALTER TABLE backfill_jobs DROP CONSTRAINT IF EXISTS backfill_jobs_kind_check;
ALTER TABLE backfill_jobs ADD CONSTRAINT backfill_jobs_kind_check
  CHECK (kind IN ('backfill', 'extend', 'refresh'));
-- Claim order: lower first. Routine refreshes wait behind every backfill and
-- extension, so a new asset is never stuck behind thousands of them.
ALTER TABLE backfill_jobs
  ADD COLUMN IF NOT EXISTS priority smallint NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS backfill_jobs_claim_order
  ON backfill_jobs (priority, next_attempt_at, id) WHERE state = 'pending';

-- What backfilld knows about each asset beyond its prices; the tracker's
-- own tables stay as they are.
CREATE TABLE IF NOT EXISTS backfilld_asset_state (
  asset_id int PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
  -- The exchange's IANA zone (Yahoo's exchangeTimezoneName): when its
  -- daily refresh is due.
  exchange_timezone text,
  -- The last write of a backfill or refresh.
  last_refresh_at timestamptz,
  -- Refreshes have answered "no data" since this day, without a success.
  no_data_since date,
  no_data_days int NOT NULL DEFAULT 0,
  -- Set after refresh.delisted-after days of "no data": no more refreshes
  -- (history kept) until `backfilld retry`.
  inactive_since timestamptz,
  inactive_reason text,
  last_error text
);
CREATE INDEX IF NOT EXISTS backfilld_asset_state_zone
  ON backfilld_asset_state (exchange_timezone) WHERE inactive_since IS NULL;
)sql"},
  {5, "dividends and splits; bad prints held back", R"sql(
-- Dividends and splits as the provider announced them, one per asset, day
-- and kind: what a tracker needs to get corporate actions right.
CREATE TABLE IF NOT EXISTS asset_events (
  asset_id int NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
  date date NOT NULL,
  kind text NOT NULL CHECK (kind IN ('dividend', 'split')),
  amount numeric,
  numerator numeric,
  denominator numeric,
  source text,
  fetched_at timestamptz,
  PRIMARY KEY (asset_id, date, kind)
);
-- Bars held back as bad prints instead of being stored, with the evidence.
CREATE TABLE IF NOT EXISTS price_outliers (
  asset_id int NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
  date date NOT NULL,
  close numeric,
  reason text NOT NULL,
  evidence text,
  seen_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (asset_id, date)
);
)sql"},
  {6, "holes checked once", R"sql(
-- The newest stored day when a write last brought the asset up to date: a
-- hole before it was in what the provider served and stays (a holiday the
-- calendar does not know, a suspension), so refreshes look for holes only
-- after it.
ALTER TABLE backfilld_asset_state
  ADD COLUMN IF NOT EXISTS holes_checked_through date;
)sql"},
  {7, "provider state for status", R"sql(
-- The running daemon's view of each provider (breaker, pause, errors over
-- the last minutes), written every few seconds for `backfilld status`, which
-- is another process. One row per provider: with several daemons, the last
-- writer's (`daemon` says whose); a row nobody refreshes goes stale.
CREATE TABLE IF NOT EXISTS backfilld_provider_state (
  provider text PRIMARY KEY,
  breaker text NOT NULL,
  open_until timestamptz,
  throttled_until timestamptz,
  requests integer NOT NULL DEFAULT 0,
  errors integer NOT NULL DEFAULT 0,
  window_start timestamptz,
  note text,
  period_ms integer NOT NULL,
  daemon text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
)sql"},
  {8, "the core's table of fetcher nodes", R"sql(
-- Fetcher nodes that joined a core lately, for `backfilld status`. The core
-- updates a row every few seconds while its node is connected; a lost node
-- stays (state 'lost') for an hour.
CREATE TABLE IF NOT EXISTS backfilld_cluster_nodes (
  name text PRIMARY KEY,
  connected_since timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  jobs_in_hand int NOT NULL DEFAULT 0,
  done bigint NOT NULL DEFAULT 0,
  failed bigint NOT NULL DEFAULT 0,
  per_minute int NOT NULL DEFAULT 0,
  state text NOT NULL CHECK (state IN ('connected', 'lost')),
  lost_reason text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
)sql"},
  {9, "claims without a scan of the whole job table", R"sql(
-- Every claim first gives up on live jobs that ran out of attempts. Such
-- jobs are rare, but without this index finding them read every row of
-- backfill_jobs, done ones included: a claim per job made a backlog of N
-- jobs cost N scans of the table.
CREATE INDEX IF NOT EXISTS backfill_jobs_attempts
  ON backfill_jobs (attempts) WHERE state IN ('pending', 'running');
)sql"},
};

/// Our index on transactions (asset_id), built only when the tracker has
/// none that serves the same lookups.
constexpr const char* asset_index = "backfilld_transactions_asset";

/// Whether the tracker has a usable index led by `transactions.asset_id`
/// (a valid, whole-table btree whose first key is the column itself; an
/// expression or a partial index cannot serve every lookup by asset), and
/// whether ours exists and is valid (NULL when absent).
const char* asset_index_sql = R"sql(
SELECT
  EXISTS (SELECT 1 FROM pg_index i
          JOIN pg_class c ON c.oid = i.indexrelid
          JOIN pg_am am ON am.oid = c.relam
          JOIN pg_attribute a
            ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
          WHERE i.indrelid = 'transactions'::regclass
            AND i.indisvalid AND i.indisready AND i.indpred IS NULL
            AND am.amname = 'btree' AND a.attname = 'asset_id'
            AND c.relname <> $1) AS tracker_has,
  (SELECT i.indisvalid FROM pg_index i
   JOIN pg_class c ON c.oid = i.indexrelid
   WHERE i.indrelid = 'transactions'::regclass AND c.relname = $1)
    AS ours_valid
)sql";

/// How long a concurrent build or drop may wait for a lock before it gives
/// way to the tracker, and how often it tries.
constexpr const char* index_lock_timeout = "1s";
constexpr int index_attempts = 3;

/// A setting's value as SET takes it ("1min" unquoted is a syntax error).
std::string quoted(const std::string& value) {
  if (!value.empty() && value.front() == '\'')
    return value;
  return "'" + value + "'";
}

/// One decision and its DDL, outside any transaction (CONCURRENTLY needs
/// that). Returns true when nothing is left to do.
bool index_step(pqxx::connection_base& conn, std::string& done) {
  bool tracker_has = false;
  std::optional<bool> ours_valid;
  {
    pqxx::read_transaction txn{conn};
    auto row = txn.exec_params1(asset_index_sql, asset_index);
    tracker_has = row[0].as<bool>();
    if (!row[1].is_null())
      ours_valid = row[1].as<bool>();
  }
  pqxx::nontransaction ddl{conn};
  if (ours_valid && (tracker_has || !*ours_valid)) {
    // A second copy of the tracker's index, or the leftover of a build that
    // failed: either only costs the tracker's inserts.
    ddl.exec(std::string{"DROP INDEX CONCURRENTLY IF EXISTS "} + asset_index);
    done += std::string{"dropped "} + asset_index +
            (tracker_has ? " (the tracker has its own)" : " (invalid)") + "; ";
    return tracker_has;
  }
  if (tracker_has || ours_valid)
    return true;
  ddl.exec(std::string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS "} +
           asset_index + " ON transactions (asset_id)");
  done += std::string{"built "} + asset_index + "; ";
  return false; // Check that the build left a valid index.
}

int current_version(pqxx::work& txn) {
  // An MVCC read of the catalog, not to_regclass: right after waiting for the
  // advisory lock, this backend's catalog cache may not have seen the table
  // another daemon just created (advisory locks do not process invalidations).
  auto exists = txn.exec1("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables"
                          " WHERE schemaname = current_schema()"
                          " AND tablename = 'backfilld_schema')");
  if (!exists[0].as<bool>())
    return 0;
  return txn.exec1("SELECT coalesce(max(version), 0) FROM backfilld_schema")[0]
    .as<int>();
}

std::string privilege_hint(pqxx::connection_base& conn,
                           const std::string& what) {
  return what + " (role \"" + conn.username() +
         "\" needs CREATE on the schema and ownership of the tracker's "
         "tables; run `backfilld migrate` once as their owner)";
}

} // namespace

void ensure_transactions_index(pqxx::connection_base& conn,
                               migration_report& report) {
  auto statement_timeout = conn.get_variable("statement_timeout");
  auto lock_timeout = conn.get_variable("lock_timeout");
  // A build on a big table outlasts any statement timeout; waiting for the
  // tracker's locks must not.
  conn.set_variable("statement_timeout", "0");
  conn.set_variable("lock_timeout", quoted(index_lock_timeout));
  std::string done;
  std::string problem;
  for (int attempt = 1; attempt <= index_attempts * 2; ++attempt) {
    try {
      if (index_step(conn, done)) {
        problem.clear();
        break;
      }
    } catch (const pqxx::insufficient_privilege&) {
      problem = std::string{"no privilege to manage index "} + asset_index +
                " (run `backfilld migrate` as the table's owner)";
      break;
    } catch (const pqxx::sql_error& e) {
      // 55P03: the tracker holds a conflicting lock; give way and retry.
      problem = e.what();
      if (e.sqlstate() != "55P03" || attempt >= index_attempts)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds{200 * attempt});
    }
  }
  conn.set_variable("statement_timeout", quoted(statement_timeout));
  conn.set_variable("lock_timeout", quoted(lock_timeout));
  if (!done.empty())
    report.notes.push_back("Index on transactions (asset_id): " + done);
  if (!problem.empty())
    report.notes.push_back(std::string{"Could not settle index "} +
                           asset_index +
                           ", retried at the next start: " + problem);
}

int schema_version() {
  return migrations.back().version;
}

fault migrate(pqxx::connection_base& conn, migration_report& report) {
  try {
    {
      // Fast path without any DDL, so a role without CREATE can run a
      // current schema.
      pqxx::work txn{conn};
      report.from_version = current_version(txn);
      report.to_version = report.from_version;
      txn.commit();
    }
    if (report.from_version >= schema_version()) {
      ensure_transactions_index(conn, report);
      return {};
    }
    pqxx::work txn{conn};
    // Building an index on a big tracker table may take longer than the
    // statement timeout; waiting for a table lock behind the tracker's
    // own transactions must not take forever.
    txn.exec("SET LOCAL statement_timeout = 0");
    txn.exec("SET LOCAL lock_timeout = '60s'");
    txn.exec_params("SELECT pg_advisory_xact_lock($1)", migration_lock);
    // Another daemon may have migrated while we waited for the lock.
    auto version = current_version(txn);
    txn.exec("CREATE TABLE IF NOT EXISTS backfilld_schema ("
             " version int PRIMARY KEY,"
             " description text NOT NULL,"
             " applied_at timestamptz NOT NULL DEFAULT now())");
    for (const auto& m : migrations) {
      if (m.version <= version)
        continue;
      txn.exec(m.sql);
      txn.exec_params("INSERT INTO backfilld_schema (version, description) "
                      "VALUES ($1, $2)",
                      m.version, m.description);
      version = m.version;
    }
    txn.commit();
    report.to_version = version;
    ensure_transactions_index(conn, report);
    return {};
  } catch (const pqxx::insufficient_privilege& e) {
    return {ec::insufficient_privilege, privilege_hint(conn, e.what())};
  } catch (...) {
    auto f = classify(std::current_exception());
    if (f.code == ec::insufficient_privilege)
      f.detail = privilege_hint(conn, f.detail);
    return f;
  }
}

} // namespace backfilld
