"""The end-to-end pipeline: NOTIFY → dedupe → rate-limit → fetch → write →
track, with the real binary, a real PostgreSQL and the fake provider."""

import os
import re
import subprocess
import tempfile
import unittest

from harness import BINARY, PipelineTest, wait_until


class NewAsset(PipelineTest):

    def test_amd_is_backfilled_once_and_tracked(self):
        daemon = self.start_daemon()
        # The start-up catch-up scan runs once LISTEN is up: a transaction
        # committed before it ends is found by the scan instead (also right,
        # but this test is about the notification path).
        daemon.wait_for(r"Full catch-up scan looked at")
        self.db.add_asset(12, "AMD")
        self.db.buy(12, portfolio=1)
        daemon.wait_for(r"New asset detected \(id 12, AMD\), starting backfill")
        records = self.backfilled_records(daemon, "AMD")
        # A year of US trading days, weekends excluded.
        self.assertGreaterEqual(records, 245)
        self.assertLessEqual(records, 262)
        wait_until(lambda: self.db.tracking(12), what="tracked_assets row")
        self.assertEqual(self.db.price_count(12), records)
        users, last_update = self.db.tracking(12)
        self.assertEqual(users, 1)
        self.assertIsNotNone(last_update)
        self.assertEqual(self.db.job(12), ("done", 1, None))
        request = self.yahoo.requests("AMD")[0]
        self.assertEqual(request["query"].get("range"), "1y")
        self.assertEqual(request["query"].get("interval"), "1d")
        # More transactions: no new fetch; a second portfolio is counted.
        self.db.buy(12, portfolio=1)
        self.db.buy(12, portfolio=2)
        wait_until(lambda: (self.db.tracking(12) or (0,))[0] == 2,
                   what="tracking_users = 2")
        # Both sightings went through dedupe (the tracker counted the second
        # portfolio), and a fetch needs a job: no second job, no fetch.
        daemon.wait_for(r"Notification for asset 12 ", count=3)
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM backfill_jobs WHERE asset_id = 12"), 1)
        self.assertEqual(self.db.job(12), ("done", 1, None))
        self.assertEqual(len(self.yahoo.requests("AMD")), 1)
        self.assertEqual(self.db.price_count(12), records)
        self.stop_daemon(daemon)

    def test_prices_are_dated_and_valued_as_served(self):
        daemon = self.start_daemon()
        self.db.add_asset(20, "VOD.L", currency="GBP")
        self.db.add_asset(21, "BTC", asset_type="crypto")
        self.db.add_asset(22, "EURUSD", asset_type="currency")
        for asset in (20, 21, 22):
            self.db.buy(asset)
        for symbol in ("VOD.L", "BTC", "EURUSD"):
            self.backfilled_records(daemon, symbol)
        # Pence stay pence, and the difference to assets.currency is said.
        self.assertEqual(
            self.db.scalar("SELECT DISTINCT currency FROM asset_prices"
                           " WHERE asset_id = 20"), "GBp")
        daemon.wait_for(r"VOD\.L is quoted in GBp while assets\.currency says GBP")
        # Crypto trades on weekends, London and FX do not.
        weekend = ("SELECT count(*) FROM asset_prices WHERE asset_id = %s"
                   " AND extract(isodow FROM date) IN (6, 7)")
        self.assertGreater(self.db.scalar(weekend, (21,)), 90)
        self.assertEqual(self.db.scalar(weekend, (20,)), 0)
        self.assertEqual(self.db.scalar(weekend, (22,)), 0)
        # Crypto and FX symbols were mapped to the provider's convention.
        self.assertEqual(len(self.yahoo.requests("BTC-USD")), 1)
        self.assertEqual(len(self.yahoo.requests("EURUSD=X")), 1)
        self.assertEqual(self.db.duplicate_prices(), 0)
        self.stop_daemon(daemon)

    def test_a_manual_pg_notify_wakes_it(self):
        """The seed's troubleshooting step still works."""
        daemon = self.start_daemon()
        self.db.add_asset(1, "AAPL")
        self.db.execute(
            """SELECT pg_notify('transaction_created', '{"asset_id": 1}')""")
        self.backfilled_records(daemon, "AAPL")
        # The job queue records the outcome after the writer's log line.
        wait_until(lambda: self.db.job_done(1), what="AAPL's job done")
        # No transaction: no portfolio holds it, so nobody tracks it.
        self.assertEqual(self.db.job(1), ("done", 1, None))
        self.assertIsNone(self.db.tracking(1))
        self.stop_daemon(daemon)

    def test_an_old_first_transaction_fetches_back_to_it(self):
        daemon = self.start_daemon()
        self.db.add_asset(30, "MSFT")
        self.db.buy(30, when="now() - interval '500 days'")
        records = self.backfilled_records(daemon, "MSFT")
        self.assertGreater(records, 330)
        request = self.yahoo.requests("MSFT")[0]
        self.assertIn("period1", request["query"])
        oldest = self.db.scalar(
            "SELECT current_date - min(date) FROM asset_prices"
            " WHERE asset_id = 30")
        self.assertGreaterEqual(oldest, 500)
        self.stop_daemon(daemon)


class Scale(PipelineTest):

    def test_fifty_assets_at_once(self):
        daemon = self.start_daemon("--fetch.concurrency=4", "--fetch.window=8")
        values = []
        for i in range(50):
            values.append(f"({100 + i}, 'S{i:02d}', 'stock')")
        self.db.execute("INSERT INTO assets (id, symbol, asset_type) VALUES "
                        + ", ".join(values))
        # Five transactions each, over three portfolios, in one statement.
        self.db.execute(
            "INSERT INTO transactions (portfolio_id, asset_id, quantity,"
            " price, timestamp)"
            " SELECT 1 + (n % 3), a, 1, 1, now()"
            " FROM generate_series(100, 149) a, generate_series(1, 5) n")
        wait_until(lambda: self.db.jobs_in("done") == 50,
                   timeout=60, what="50 jobs done")
        wait_until(lambda: self.db.scalar(
            "SELECT count(*) FROM tracked_assets") == 50,
            what="50 tracked assets")
        for i in range(50):
            self.assertEqual(len(self.yahoo.requests(f"S{i:02d}")), 1,
                             f"S{i:02d} fetched once")
        counts = self.db.rows(
            "SELECT count(*) FROM asset_prices GROUP BY asset_id")
        self.assertEqual(len(counts), 50)
        # Same exchange, same calendar: every asset has the same days.
        self.assertEqual(len(set(c for (c,) in counts)), 1)
        self.assertGreaterEqual(counts[0][0], 245)
        self.assertEqual(self.db.duplicate_prices(), 0)
        users = self.db.rows("SELECT DISTINCT tracking_users FROM tracked_assets")
        self.assertEqual(users, [(3,)])
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM backfill_jobs"), 50)
        self.stop_daemon(daemon)


class NothingToFetch(PipelineTest):

    unknown_symbols = ("NOSUCH",)

    def test_an_unknown_symbol_fails_visibly_without_a_crash(self):
        daemon = self.start_daemon()
        self.db.add_asset(40, "NOSUCH")
        self.db.buy(40)
        daemon.wait_for(r"Backfill of NOSUCH \(asset 40\) failed: "
                        r"symbol_not_found: No data found, symbol may be delisted")
        wait_until(lambda: self.db.job(40) and self.db.job(40)[0] == "failed",
                   what="job failed")
        state, attempts, error = self.db.job(40)
        self.assertEqual(attempts, 1)
        self.assertIn("symbol may be delisted", error)
        self.assertEqual(self.db.price_count(40), 0)
        self.assertIsNone(self.db.tracking(40))
        # Permanent: not retried in a loop, nor by another transaction.
        self.db.buy(40, portfolio=2)
        daemon.wait_for(r"Asset 40 \(NOSUCH\) failed before")
        # Dedupe decided: the failed job stays failed and no job was added,
        # so nothing can fetch it.
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM backfill_jobs WHERE asset_id = 40"), 1)
        self.assertEqual(self.db.job(40)[:2], ("failed", 1))
        self.assertEqual(len(self.yahoo.requests("NOSUCH")), 1)
        self.assertTrue(daemon.alive())
        # ... until an operator asks.
        self.yahoo.set_symbol("NOSUCH", status="ok")
        code, out = self.run_cli("retry", "NOSUCH")
        self.assertEqual(code, 0, out)
        self.assertIn("Retrying 1 failed job of NOSUCH", out)
        self.backfilled_records(daemon, "NOSUCH")
        self.stop_daemon(daemon)

    def test_cash_is_skipped_without_a_fetch(self):
        daemon = self.start_daemon()
        self.db.add_asset(41, "EUR", asset_type="cash")
        self.db.buy(41)
        daemon.wait_for(r"Skipping EUR \(asset 41\): asset type cash has no"
                        r" market price")
        wait_until(lambda: self.db.job(41) and self.db.job(41)[0] == "failed",
                   what="job marked failed")
        self.assertIn("no_market_price", self.db.job(41)[2])
        self.assertEqual(self.yahoo.requests(), [])
        self.assertIsNone(self.db.tracking(41))
        self.stop_daemon(daemon)

    def test_a_malformed_notification_is_counted_not_fatal(self):
        daemon = self.start_daemon()
        self.db.execute("SELECT pg_notify('transaction_created', 'garbage')")
        self.db.execute(
            """SELECT pg_notify('transaction_created', '{"asset_id": "x"}')""")
        self.db.execute(
            """SELECT pg_notify('transaction_created', '{"asset_id": 777}')""")
        daemon.wait_for(r"Rejected notification on transaction_created: not JSON")
        daemon.wait_for(r"asset_id is not a number")
        daemon.wait_for(r"Dropping notification for asset 777: no such asset")
        daemon.wait_for(r"rejected=2 unknown_assets=1")
        self.assertTrue(daemon.alive())
        self.stop_daemon(daemon)


class ExistingDatabase(PipelineTest):

    def test_a_tracker_schema_with_its_own_trigger(self):
        self.db.execute("""
            CREATE TABLE assets (id serial PRIMARY KEY, symbol text NOT NULL,
              asset_type text NOT NULL DEFAULT 'stock', currency text,
              name text);
            CREATE TABLE transactions (id bigserial PRIMARY KEY,
              portfolio_id int NOT NULL, asset_id int NOT NULL
              REFERENCES assets, quantity numeric NOT NULL,
              price numeric NOT NULL, timestamp timestamptz NOT NULL,
              fees numeric DEFAULT 0);
            CREATE TABLE asset_prices (id serial, asset_id int NOT NULL
              REFERENCES assets, date date NOT NULL, close numeric,
              created_at timestamptz DEFAULT now(),
              UNIQUE (asset_id, date));
            CREATE TABLE tracked_assets (asset_id int PRIMARY KEY
              REFERENCES assets, tracking_users int NOT NULL,
              last_price_update timestamptz);
            CREATE FUNCTION notify_transaction_created() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              PERFORM pg_notify('transaction_created', json_build_object(
                'transaction_id', NEW.id, 'asset_id', NEW.asset_id,
                'portfolio_id', NEW.portfolio_id,
                'timestamp', NEW.timestamp)::text);
              RETURN NEW;
            END $$;
            CREATE TRIGGER transaction_created_trigger AFTER INSERT
              ON transactions FOR EACH ROW
              EXECUTE FUNCTION notify_transaction_created();
            INSERT INTO assets (symbol, name) VALUES ('AMD', 'AMD Inc.');
        """)
        daemon = self.start_daemon()
        self.db.buy(1)
        records = self.backfilled_records(daemon, "AMD")
        self.assertEqual(self.db.price_count(1), records)
        self.assertEqual(self.db.scalar("SELECT name FROM assets"), "AMD Inc.")
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM pg_proc WHERE proname ="
            " 'notify_transaction_created'"), 1)
        self.stop_daemon(daemon)

    def test_migrate_and_status_commands(self):
        code, out = self.run_cli("migrate")
        self.assertEqual(code, 0, out)
        # Whatever the latest version is: a fresh database gets it, and a
        # second run has nothing to do.
        version = re.search(r"Schema at version (\d+) \(was 0\)", out)
        self.assertIsNotNone(version, out)
        self.assertGreaterEqual(int(version.group(1)), 5)
        code, out = self.run_cli("migrate")
        self.assertIn(f"Schema at version {version.group(1)} (was "
                      f"{version.group(1)})", out)
        code, out = self.run_cli("status")
        self.assertEqual(code, 0, out)
        self.assertIn("Jobs by kind and state", out)

    def test_configuration_precedence(self):
        """defaults < INI file < environment < command line"""
        with tempfile.NamedTemporaryFile("w", suffix=".ini",
                                         delete=False) as ini:
            ini.write('[yahoo]\nburst=9.0\nbase-url="http://from-ini"\n'
                      '[fetch]\nwindow=12\n')
        try:
            def dump(*args, env=None):
                proc = subprocess.run(
                    [BINARY, f"--config-file={ini.name}", "--dump-config",
                     *args], capture_output=True, text=True, timeout=30,
                    env={**os.environ, **(env or {})})
                return proc.stdout + proc.stderr
            plain = dump()
            self.assertIn("burst = 9.0", plain)           # file over default
            self.assertIn('base-url = "http://from-ini"', plain)
            env = {"BACKFILL_YAHOO_BASE_URL": "http://from-env"}
            self.assertIn('base-url = "http://from-env"', dump(env=env))
            self.assertIn('base-url = "http://from-cli"',
                          dump("--yahoo.base-url=http://from-cli", env=env))
            self.assertIn("window = 3", dump("--fetch.window=3"))
        finally:
            os.unlink(ini.name)

    def test_invalid_settings_are_refused_clearly(self):
        code, out = self.run_cli("run", "--history.range=1year")
        self.assertEqual(code, 2)
        self.assertIn("history.range 1year is not a Yahoo range", out)
        code, out = self.run_cli("run", "--config-file=/nonexistent.ini")
        self.assertEqual(code, 2)
        self.assertIn("cannot read config file /nonexistent.ini", out)

    def test_a_bad_database_url_is_reported_with_its_password_masked(self):
        code, out = self.run_cli(
            "migrate", "--db.url=postgresql://app:hunter2@127.0.0.1:1/x")
        self.assertEqual(code, 1)
        self.assertIn("postgresql://app:***@127.0.0.1:1/x", out)
        self.assertNotIn("hunter2", out)


if __name__ == "__main__":
    unittest.main()
