#define CAF_SUITE schema
#include <caf/test/unit_test.hpp>

#include <thread>

#include "db_fixture.hpp"

using namespace backfilld;
using namespace backfilld::test;

namespace {

/// An empty database, for migrations to start from.
struct empty_db : db_fixture {
  empty_db()
    : db_fixture(false) {
    // nop
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(schema_tests, empty_db)

CAF_TEST(an empty database gets every table and the trigger) {
  migration_report report;
  CAF_REQUIRE(!migrate(*conn, report));
  CAF_CHECK_EQUAL(report.from_version, 0);
  CAF_CHECK_EQUAL(report.to_version, schema_version());
  for (auto table : {"assets", "transactions", "asset_prices", "tracked_assets",
                     "backfill_jobs", "backfilld_schema"})
    CAF_CHECK(scalar<bool>(std::string{"SELECT to_regclass('"} + table +
                           "') IS NOT NULL"));
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM pg_trigger WHERE tgname ="
                              " 'transaction_created_trigger'"),
                  1);
}

CAF_TEST(migrating twice changes nothing) {
  migration_report first;
  CAF_REQUIRE(!migrate(*conn, first));
  migration_report second;
  CAF_REQUIRE(!migrate(*conn, second));
  CAF_CHECK_EQUAL(second.from_version, schema_version());
  CAF_CHECK_EQUAL(second.to_version, schema_version());
  CAF_CHECK_EQUAL(scalar<int>("SELECT max(version) FROM backfilld_schema"),
                  schema_version());
}

CAF_TEST(an existing tracker database keeps its data and its trigger) {
  exec(R"sql(
    CREATE TABLE assets (id serial PRIMARY KEY, symbol text NOT NULL,
      asset_type text NOT NULL DEFAULT 'stock', currency text,
      name text, created_at timestamptz DEFAULT now());
    CREATE TABLE transactions (id bigserial PRIMARY KEY,
      portfolio_id int NOT NULL, asset_id int NOT NULL REFERENCES assets,
      quantity numeric NOT NULL, price numeric NOT NULL,
      timestamp timestamptz NOT NULL, note text);
    CREATE TABLE asset_prices (asset_id int NOT NULL REFERENCES assets,
      date date NOT NULL, close numeric, PRIMARY KEY (asset_id, date));
    CREATE TABLE tracked_assets (asset_id int PRIMARY KEY REFERENCES assets,
      tracking_users int NOT NULL, last_price_update timestamptz);
    CREATE FUNCTION notify_transaction_created() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('transaction_created',
        json_build_object('asset_id', NEW.asset_id, 'from', 'tracker')::text);
      RETURN NEW;
    END $$;
    CREATE TRIGGER transaction_created_trigger AFTER INSERT ON transactions
      FOR EACH ROW EXECUTE FUNCTION notify_transaction_created();
    INSERT INTO assets (symbol, name) VALUES ('AMD', 'Advanced Micro Devices');
    INSERT INTO asset_prices VALUES (1, '2024-01-02', 138.58);
  )sql");
  migration_report report;
  CAF_REQUIRE(!migrate(*conn, report));
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT name FROM assets"),
                  "Advanced Micro Devices");
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT close::text FROM asset_prices"),
                  "138.58");
  // The columns backfilld writes were added, nothing else touched.
  CAF_CHECK(scalar<bool>("SELECT count(*) = 1 FROM information_schema.columns"
                         " WHERE table_name = 'asset_prices'"
                         " AND column_name = 'adj_close'"));
  // The tracker's own function stays.
  CAF_CHECK(scalar<std::string>("SELECT prosrc FROM pg_proc WHERE proname ="
                                " 'notify_transaction_created'")
              .find("'tracker'") != std::string::npos);
}

CAF_TEST(two daemons migrating at once migrate once) {
  std::vector<fault> faults(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < faults.size(); ++i)
    threads.emplace_back([&, i] {
      auto c = connect();
      migration_report report;
      faults[i] = migrate(*c, report);
    });
  for (auto& t : threads)
    t.join();
  for (const auto& f : faults)
    CAF_CHECK_EQUAL(f.detail, "");
  CAF_CHECK_EQUAL(scalar<int>("SELECT max(version) FROM backfilld_schema"),
                  schema_version());
}

CAF_TEST(a role that may not create tables gets a clear error) {
  auto role = name + "_reader";
  admin_exec("DROP ROLE IF EXISTS " + role);
  admin_exec("CREATE ROLE " + role + " LOGIN");
  exec("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
  db_settings s;
  s.url = url + "?user=" + role;
  auto limited = open_connection(s);
  migration_report report;
  auto f = migrate(*limited, report);
  CAF_CHECK_EQUAL(static_cast<int>(f.code),
                  static_cast<int>(ec::insufficient_privilege));
  CAF_CHECK(f.detail.find("permission denied") != std::string::npos);
  CAF_CHECK(f.detail.find(role) != std::string::npos);
  CAF_CHECK(f.detail.find("CREATE") != std::string::npos);
  limited.reset();
  conn.reset();
  admin_exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  admin_exec("DROP ROLE " + role);
}

// -- the index on transactions (asset_id)
// --------------------------------------

namespace {

/// A tracker's own assets and transactions, with its indexes (`indexes`).
void tracker_tables(db_fixture& db, const std::string& indexes) {
  db.exec(R"sql(
    CREATE TABLE assets (id serial PRIMARY KEY, symbol text NOT NULL,
                         asset_type text NOT NULL DEFAULT 'stock',
                         currency text);
    CREATE TABLE transactions (id bigserial PRIMARY KEY, portfolio_id int,
                               asset_id int REFERENCES assets (id),
                               quantity numeric, price numeric,
                               timestamp timestamptz);
  )sql" + indexes);
}

int our_index(db_fixture& db) {
  return db.scalar<int>("SELECT count(*) FROM pg_class"
                        " WHERE relname = 'backfilld_transactions_asset'");
}

} // namespace

CAF_TEST(an index the tracker already has on transactions is reused) {
  tracker_tables(*this, "CREATE INDEX tracker_tx_asset_time"
                        " ON transactions (asset_id, timestamp)");
  migration_report report;
  CAF_REQUIRE(!migrate(*conn, report));
  CAF_CHECK_EQUAL(our_index(*this), 0);
}

CAF_TEST(partial or expression indexes do not count) {
  tracker_tables(*this, R"sql(
    CREATE INDEX tracker_recent ON transactions (asset_id)
      WHERE timestamp > '2025-01-01';
    CREATE INDEX tracker_expr ON transactions ((asset_id::bigint));
  )sql");
  migration_report report;
  CAF_REQUIRE(!migrate(*conn, report));
  CAF_CHECK_EQUAL(our_index(*this), 1);
  CAF_CHECK(scalar<bool>("SELECT indisvalid FROM pg_index WHERE indexrelid ="
                         " 'backfilld_transactions_asset'::regclass"));
}

CAF_TEST(a copy of the tracker index from an older version is dropped) {
  migration_report report;
  CAF_REQUIRE(!migrate(*conn, report));
  CAF_CHECK_EQUAL(our_index(*this), 1);
  // The tracker adds its own later: ours is only a second copy.
  exec("CREATE INDEX tracker_tx_asset ON transactions (asset_id)");
  migration_report again;
  CAF_REQUIRE(!migrate(*conn, again));
  CAF_CHECK_EQUAL(our_index(*this), 0);
  CAF_REQUIRE_EQUAL(again.notes.size(), 1u);
  CAF_CHECK(again.notes[0].find("dropped") != std::string::npos);
}

CAF_TEST(the index build gives way to the tracker and comes back later) {
  migration_report first;
  CAF_REQUIRE(!migrate(*conn, first));
  exec("DROP INDEX backfilld_transactions_asset");
  // A tracker session holds a lock that a concurrent build must wait for.
  auto tracker = connect();
  pqxx::work busy{*tracker};
  busy.exec("LOCK TABLE transactions IN SHARE UPDATE EXCLUSIVE MODE");
  migration_report blocked;
  CAF_CHECK(!migrate(*conn, blocked));
  CAF_CHECK_EQUAL(our_index(*this), 0);
  CAF_REQUIRE_EQUAL(blocked.notes.size(), 1u);
  CAF_CHECK(blocked.notes[0].find("retried at the next start") !=
            std::string::npos);
  // The session's own timeouts are back to what they were.
  CAF_CHECK_EQUAL(scalar<std::string>("SHOW lock_timeout"), "0");
  busy.commit();
  migration_report later;
  CAF_CHECK(!migrate(*conn, later));
  CAF_CHECK_EQUAL(our_index(*this), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
