"""The database going away, connections dying silently, rolled-back
transactions, and several daemons on one database."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import psycopg2

from harness import (HERE, Daemon, FakeYahoo, PipelineTest,
                     database_url, wait_until)
from tcp_proxy import FreezableProxy

ROOT = HERE.parent.parent


class Notifications(PipelineTest):

    def test_a_rolled_back_transaction_enqueues_nothing(self):
        daemon = self.start_daemon()
        self.db.add_asset(1, "GHOST")
        conn = psycopg2.connect(self.db.url)
        with conn.cursor() as cur:
            cur.execute("INSERT INTO transactions (portfolio_id, asset_id,"
                        " quantity, price, timestamp)"
                        " VALUES (1, 1, 1, 1, now())")
        conn.rollback()
        conn.close()
        # A committed transaction after it proves the daemon was listening.
        self.db.add_asset(2, "REAL")
        self.db.buy(2)
        wait_until(lambda: self.db.job_done(2), what="REAL done")
        self.assertIsNone(self.db.job(1))
        self.assertEqual(self.yahoo.requests("GHOST"), [])
        self.stop_daemon(daemon)

    def test_a_flood_of_duplicates_fetches_once(self):
        daemon = self.start_daemon()
        self.db.add_asset(1, "FLOOD")
        self.db.execute(
            "SELECT pg_notify('transaction_created',"
            " json_build_object('asset_id', 1, 'transaction_id', n)::text)"
            " FROM generate_series(1, 5000) n")
        wait_until(lambda: self.db.job_done(1), what="FLOOD done")
        daemon.wait_for(r"notifications=5000")
        self.assertEqual(len(self.yahoo.requests("FLOOD")), 1)
        self.assertEqual(self.db.scalar("SELECT count(*) FROM backfill_jobs"), 1)
        self.stop_daemon(daemon)

    def test_payloads_at_the_notify_limit_and_odd_ids(self):
        daemon = self.start_daemon()
        self.db.add_asset(1, "BIG")
        padding = "x" * 7960
        self.db.execute(
            "SELECT pg_notify('transaction_created', %s)",
            ('{"asset_id": 1, "pad": "' + padding + '"}',))
        for payload in ('{"asset_id": -4}', '{"asset_id": 99999999999}',
                        '{"asset_id": 2147483647}', '{"asset_id": 1.5}',
                        '[]', '{}'):
            self.db.execute("SELECT pg_notify('transaction_created', %s)",
                            (payload,))
        wait_until(lambda: self.db.job_done(1), what="BIG done")
        daemon.wait_for(r"rejected=5 unknown_assets=1")
        self.assertTrue(daemon.alive())
        self.stop_daemon(daemon)


class WhileAway(PipelineTest):

    def test_assets_inserted_while_backfilld_was_down(self):
        # Schema in place, daemon stopped: the notifications go nowhere.
        code, out = self.run_cli("migrate")
        self.assertEqual(code, 0, out)
        self.db.add_asset(1, "MISSED")
        self.db.add_asset(2, "ALSO")
        self.db.buy(1)
        self.db.buy(2, portfolio=3)
        daemon = self.start_daemon()
        wait_until(lambda: self.db.job_done(1) and self.db.job_done(2),
                   what="both done")
        daemon.wait_for(r"Catch-up: asset 1 \(MISSED\) has transactions but"
                        r" no prices, starting backfill")
        # The tracker records an asset after its job is done, not with it.
        wait_until(lambda: self.db.tracking(2) is not None,
                   what="asset 2 tracked")
        self.assertEqual(self.db.tracking(2)[0], 1)
        self.stop_daemon(daemon)


class Disconnects(PipelineTest):

    def test_backends_killed_mid_run(self):
        daemon = self.start_daemon()
        self.db.add_asset(1, "BEFORE")
        self.db.buy(1)
        wait_until(lambda: self.db.job_done(1), what="BEFORE done")
        killed = self.db.scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'backfilld' AND datname = %s",
            (self.db.name,))
        self.assertGreater(killed, 0)
        # Inserted while the listener may still be away: catch-up finds it.
        self.db.add_asset(2, "DURING")
        self.db.buy(2)
        daemon.wait_for(r"Listening again")
        self.db.add_asset(3, "AFTER")
        self.db.buy(3)
        wait_until(lambda: self.db.job_done(2) and self.db.job_done(3), timeout=30,
                   what="DURING and AFTER done")
        self.assertEqual(self.db.duplicate_prices(), 0)
        self.assertEqual(len(self.yahoo.requests("DURING")), 1)
        self.stop_daemon(daemon)

    def test_a_silently_dead_connection_is_found_and_replaced(self):
        host, port = self.db.url.split("@")[1].split("/")[0].split(":")
        proxy = FreezableProxy(host, int(port))
        try:
            via_proxy = database_url(
                f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres",
                self.db.name)
            daemon = Daemon(via_proxy, self.yahoo.base_url,
                            ["--listener.ping-interval=300ms",
                             "--db.statement-timeout=1s",
                             "--db.stall-timeout=2s"])
            self.daemons.append(daemon)
            daemon.wait_listening()
            self.db.add_asset(1, "FIRST")
            self.db.buy(1)
            wait_until(lambda: self.db.job_done(1), what="FIRST done")
            self.assertGreater(proxy.freeze(), 0)
            # Nothing arrives any more on the old connections; the listener's
            # ping hangs, the watchdog cuts it, and it reconnects.
            self.db.add_asset(2, "SECOND")
            self.db.buy(2)
            daemon.wait_for(r"stuck past its bound", timeout=20)
            wait_until(lambda: self.db.job_done(2), timeout=30, what="SECOND done")
            daemon.wait_for(r"Listening again")
            self.stop_daemon(daemon)
        finally:
            proxy.stop()


class DatabaseRestart(unittest.TestCase):
    """Restarts a PostgreSQL of its own (the shared one serves other tests)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="backfilld-pg-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.cluster = str(ROOT / "scripts" / "pg-cluster.sh")
        subprocess.run([self.cluster, "start", self.dir, "tracker"],
                       check=True, capture_output=True)
        self.url = Path(self.dir, "url").read_text().strip()
        self.yahoo = FakeYahoo().start()
        self.daemon = None

    def tearDown(self):
        if self.daemon is not None:
            if self.daemon.alive():
                self.daemon.stop()
            if any(t is self for t, _ in
                   self._outcome.result.failures + self._outcome.result.errors):
                print(self.daemon.output()[-20000:])
            self.daemon.close()
        self.yahoo.stop()
        subprocess.run([self.cluster, "stop", self.dir], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def sql(self, statement, params=None):
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def state(self, asset):
        rows = self.sql("SELECT state FROM backfill_jobs WHERE asset_id = %s"
                        " ORDER BY id DESC LIMIT 1", (asset,))
        return rows[0][0] if rows else None

    def test_postgres_restarted_mid_run(self):
        self.daemon = Daemon(self.url, self.yahoo.base_url)
        self.daemon.wait_listening()
        self.sql("INSERT INTO assets (id, symbol) VALUES (1, 'A'), (2, 'B'),"
                 " (3, 'C')")
        self.sql("INSERT INTO transactions (portfolio_id, asset_id, quantity,"
                 " price, timestamp) VALUES (1, 1, 1, 1, now())")
        wait_until(lambda: self.state(1) == "done", what="A done")
        # B is in flight (a slow answer) when the database goes down.
        self.yahoo.set_symbol("B", delay_ms=1500)
        self.sql("INSERT INTO transactions (portfolio_id, asset_id, quantity,"
                 " price, timestamp) VALUES (1, 2, 1, 1, now())")
        wait_until(lambda: self.yahoo.requests("B"), what="B requested")
        subprocess.run([self.cluster, "restart", self.dir, "tracker"],
                       check=True, capture_output=True)
        self.sql("INSERT INTO transactions (portfolio_id, asset_id, quantity,"
                 " price, timestamp) VALUES (1, 3, 1, 1, now())")
        wait_until(lambda: self.state(2) == "done" and self.state(3) == "done",
                   timeout=60, what="B and C done")
        self.daemon.wait_for(r"Listening again")
        dupes = self.sql("SELECT count(*) FROM (SELECT asset_id, date FROM"
                         " asset_prices GROUP BY 1, 2 HAVING count(*) > 1) d")
        self.assertEqual(dupes[0][0], 0)
        counts = self.sql("SELECT count(*) FROM asset_prices GROUP BY asset_id")
        self.assertEqual(len(counts), 3)
        self.assertEqual(len(set(counts)), 1, "every asset has a full year")
        self.assertEqual(self.daemon.stop(), 0)


class SeveralDaemons(PipelineTest):

    def test_two_daemons_fetch_each_asset_once(self):
        first = self.start_daemon()
        second = self.start_daemon()
        values = ", ".join(f"({100 + i}, 'D{i:02d}')" for i in range(30))
        self.db.execute(f"INSERT INTO assets (id, symbol) VALUES {values}")
        self.db.execute(
            "INSERT INTO transactions (portfolio_id, asset_id, quantity,"
            " price, timestamp)"
            " SELECT 1, a, 1, 1, now() FROM generate_series(100, 129) a")
        wait_until(lambda: self.db.jobs_in("done") == 30,
                   timeout=60, what="30 done")
        for i in range(30):
            self.assertEqual(len(self.yahoo.requests(f"D{i:02d}")), 1)
        self.assertEqual(self.db.duplicate_prices(), 0)
        # Both took part.
        self.assertGreater(first.count(r"Backfilled D\d\d"), 0)
        self.assertGreater(second.count(r"Backfilled D\d\d"), 0)
        self.stop_daemon(first)
        self.stop_daemon(second)


class Stopping(PipelineTest):

    def test_sigterm_finishes_the_job_in_flight(self):
        daemon = self.start_daemon("--shutdown.grace=10s")
        self.yahoo.set_symbol("SLOW", delay_ms=1500)
        self.db.add_asset(1, "SLOW")
        self.db.buy(1)
        wait_until(lambda: self.yahoo.requests("SLOW"), what="SLOW requested")
        self.assertEqual(daemon.stop(), 0)
        self.assertEqual(self.db.job(1)[0], "done")
        self.assertGreater(self.db.price_count(1), 250)

    def test_sigterm_releases_what_cannot_finish_in_time(self):
        daemon = self.start_daemon("--shutdown.grace=1s", "--yahoo.timeout=30s")
        self.yahoo.set_symbol("STUCK", fault="hang")
        self.db.add_asset(1, "STUCK")
        self.db.buy(1)
        wait_until(lambda: self.yahoo.requests("STUCK"), what="STUCK requested")
        started = time.monotonic()
        self.assertEqual(daemon.stop(), 0)
        self.assertLess(time.monotonic() - started, 15)
        # Handed back, with the attempt given back too.
        self.assertEqual(self.db.job(1), ("pending", 0, None))
        self.yahoo.set_symbol("STUCK", fault=None)
        again = self.start_daemon()
        wait_until(lambda: self.db.job_done(1), what="STUCK done after restart")
        self.stop_daemon(again)

    def test_kill_9_mid_backfill_loses_nothing(self):
        daemon = self.start_daemon("--queue.lease=2s",
                                   "--queue.heartbeat-interval=500ms")
        for i in range(5):
            self.yahoo.set_symbol(f"K{i}", delay_ms=2000)
            self.db.add_asset(10 + i, f"K{i}")
            self.db.buy(10 + i)
        wait_until(lambda: len(self.yahoo.requests()) >= 4,
                   what="fetches in flight")
        daemon.kill()
        self.assertEqual(self.db.jobs_in("done"), 0)
        for i in range(5):
            self.yahoo.set_symbol(f"K{i}", delay_ms=None)
        again = self.start_daemon("--queue.lease=2s",
                                  "--queue.heartbeat-interval=500ms")
        wait_until(lambda: self.db.jobs_in("done") == 5,
                   timeout=30, what="all five done")
        again.wait_for(r"Reclaimed job")
        counts = self.db.rows("SELECT count(*) FROM asset_prices"
                              " GROUP BY asset_id")
        self.assertEqual(len(counts), 5)
        self.assertEqual(len(set(counts)), 1, "no partial history")
        self.assertEqual(self.db.duplicate_prices(), 0)
        self.stop_daemon(again)


class Secrets(PipelineTest):

    def test_the_password_never_reaches_the_log(self):
        # The test cluster trusts local connections, so any password works.
        user, rest = self.db.url.split("://")[1].split("@")
        with_password = f"postgresql://{user}:s3cr3t-pw@{rest}"
        daemon = Daemon(with_password, self.yahoo.base_url)
        self.daemons.append(daemon)
        daemon.wait_listening()
        self.db.add_asset(1, "AMD")
        self.db.buy(1)
        wait_until(lambda: self.db.job_done(1), what="AMD done")
        self.assertEqual(daemon.stop(), 0)
        output = daemon.output()
        self.assertIn(":***@", output)
        self.assertNotIn("s3cr3t-pw", output)


if __name__ == "__main__":
    unittest.main()
