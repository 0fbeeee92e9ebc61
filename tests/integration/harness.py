"""Integration test harness: the real backfilld binary, a real PostgreSQL
database per test, and the fake Yahoo provider on loopback.

Environment (set by CTest, see tests/CMakeLists.txt):
  BACKFILLD_BINARY       the daemon under test
  BACKFILLD_TEST_PG_URL  the test run's cluster (admin database)
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import psycopg2
import psycopg2.extensions

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fake_provider"))

from fake_yahoo import FakeYahoo  # noqa: E402

BINARY = os.environ.get("BACKFILLD_BINARY", "backfilld")
ADMIN_URL = os.environ.get("BACKFILLD_TEST_PG_URL", "")

# Timings scaled down so that every scenario runs in seconds; the defaults
# are minutes. Tests override single keys through `extra_args`.
FAST = [
    "--queue.poll-interval=100ms",
    "--queue.lease=3s",
    "--queue.heartbeat-interval=500ms",
    "--queue.catch-up-interval=30s",
    "--retry.base=200ms",
    "--retry.cap=2s",
    "--retry.max-attempts=4",
    "--listener.poll-interval=100ms",
    "--listener.reconnect-min=100ms",
    "--listener.reconnect-max=1s",
    "--supervisor.restart-delay=100ms",
    "--shutdown.grace=5s",
    "--yahoo.requests-per-second=50",
    "--yahoo.burst=10",
    "--yahoo.throttle-pause=1s",
    "--yahoo.timeout=5s",
    "--yahoo.connect-timeout=2s",
    "--log.summary-interval=1s",
    "--log.level=debug",
    # Fallback providers never reach the internet: tests that use them
    # point these at their fakes.
    "--frankfurter.base-url=http://127.0.0.1:9",
    "--coingecko.base-url=http://127.0.0.1:9",
    "--tiingo.base-url=http://127.0.0.1:9",
    # Their real limits (one request in minutes for Tiingo) would stall the
    # tests; test_provider_limits.py sets its own.
    "--frankfurter.requests-per-second=50",
    "--coingecko.requests-per-second=50",
    "--tiingo.requests-per-second=50",
    "--frankfurter.concurrency=4",
    "--coingecko.concurrency=4",
    "--tiingo.concurrency=4",
]


def wait_until(predicate, timeout=20.0, interval=0.05, what="condition"):
    """Polls `predicate` until it returns a truthy value; fails on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def database_url(admin_url, name):
    """The admin URL with another database name."""
    base, _, query = admin_url.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return base + ("?" + query if query else "")


class Database:
    """A database of its own for one test, dropped afterwards."""

    counter = 0

    def __init__(self, label):
        if not ADMIN_URL:
            raise unittest.SkipTest("BACKFILLD_TEST_PG_URL not set: run via ctest")
        Database.counter += 1
        safe = re.sub(r"[^a-z0-9_]", "_", label.lower())[-30:]
        self.name = f"it_{os.getpid()}_{Database.counter}_{safe}"
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {self.name}")
        self.url = database_url(ADMIN_URL, self.name)
        self.conn = psycopg2.connect(self.url)
        self.conn.autocommit = True

    def _admin(self, sql):
        conn = psycopg2.connect(ADMIN_URL)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def drop(self):
        self.conn.close()
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def execute(self, sql, params=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)

    def rows(self, sql, params=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def scalar(self, sql, params=None):
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    # -- the tracker's side ---------------------------------------------------

    def add_asset(self, asset_id, symbol, asset_type="stock", currency=None):
        self.execute(
            "INSERT INTO assets (id, symbol, asset_type, currency)"
            " VALUES (%s, %s, %s, %s)",
            (asset_id, symbol, asset_type, currency))

    def buy(self, asset_id, portfolio=1, when="now()"):
        self.execute(
            "INSERT INTO transactions (portfolio_id, asset_id, quantity, price,"
            f" timestamp) VALUES (%s, %s, 10, 100, {when})",
            (portfolio, asset_id))

    def events(self, asset_id):
        """(date, kind, amount, numerator, denominator, source) rows."""
        return self.rows(
            "SELECT date, kind, amount::float8, numerator::float8,"
            " denominator::float8, source FROM asset_events"
            " WHERE asset_id = %s ORDER BY date, kind", (asset_id,))

    def outliers(self, asset_id):
        """(date, close, reason, evidence) rows of price_outliers."""
        return self.rows(
            "SELECT date, close::float8, reason, evidence FROM price_outliers"
            " WHERE asset_id = %s ORDER BY date", (asset_id,))

    def price_count(self, asset_id):
        return self.scalar(
            "SELECT count(*) FROM asset_prices WHERE asset_id = %s", (asset_id,))

    def job(self, asset_id, kind="backfill"):
        """(state, attempts, last_error) of the asset's newest job."""
        rows = self.rows(
            "SELECT state, attempts, last_error FROM backfill_jobs"
            " WHERE asset_id = %s AND kind = %s ORDER BY id DESC LIMIT 1",
            (asset_id, kind))
        return rows[0] if rows else None

    def jobs_in(self, state):
        """How many jobs are in `state` ('pending', 'running', 'done', …)."""
        return self.scalar(
            "SELECT count(*) FROM backfill_jobs WHERE state = %s", (state,))

    def job_done(self, asset_id, kind="backfill"):
        job = self.job(asset_id, kind)
        return job is not None and job[0] == "done"

    def job_failed(self, asset_id, kind="backfill"):
        job = self.job(asset_id, kind)
        return job is not None and job[0] == "failed"

    def tracking(self, asset_id):
        rows = self.rows(
            "SELECT tracking_users, last_price_update FROM tracked_assets"
            " WHERE asset_id = %s", (asset_id,))
        return rows[0] if rows else None

    def duplicate_prices(self):
        return self.scalar(
            "SELECT count(*) FROM (SELECT asset_id, date FROM asset_prices"
            " GROUP BY 1, 2 HAVING count(*) > 1) d")


class Daemon:
    """The real binary, its output in a file that tests wait on."""

    def __init__(self, db_url, base_url, extra_args=(), env=None):
        self.log_file = tempfile.NamedTemporaryFile(
            prefix="backfilld-", suffix=".log", delete=False)
        self.args = [BINARY, f"--db.url={db_url}",
                     f"--yahoo.base-url={base_url}", *FAST, *extra_args]
        full_env = dict(os.environ)
        full_env.pop("BACKFILL_DB_URL", None)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            self.args, stdout=self.log_file, stderr=subprocess.STDOUT,
            env=full_env)
        self.returncode = None

    def output(self):
        return Path(self.log_file.name).read_text(errors="replace")

    def count(self, pattern):
        return len(re.findall(pattern, self.output()))

    def wait_for(self, pattern, timeout=20.0, count=1):
        """Waits until `pattern` (a regex) appears `count` times."""
        def seen():
            if self.proc.poll() is not None and self.count(pattern) < count:
                raise AssertionError(
                    f"backfilld exited ({self.proc.returncode}) before"
                    f" logging {pattern!r}")
            return self.count(pattern) >= count
        wait_until(seen, timeout, what=f"log line {pattern!r}")

    def wait_listening(self):
        self.wait_for(r"listening for new transactions")

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=30.0):
        """SIGTERM, then the exit code (the test decides what it expects)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("backfilld ignored SIGTERM")
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self):
        """kill -9: no chance to clean up."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.returncode = self.proc.returncode

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()
        os.unlink(self.log_file.name)


class PipelineTest(unittest.TestCase):
    """One database, one fake provider, and daemons started on demand."""

    unknown_symbols = ()

    def setUp(self):
        self.db = Database(self.id().rsplit(".", 1)[-1])
        self.yahoo = FakeYahoo(unknown=self.unknown_symbols).start()
        self.daemons = []

    def tearDown(self):
        failed = self._outcome_failed()
        for daemon in self.daemons:
            if daemon.alive():
                daemon.stop()
            if failed:
                print(f"\n--- backfilld output ({' '.join(daemon.args[:2])}) ---")
                print(daemon.output()[-20000:])
            daemon.close()
        self.yahoo.stop()
        self.db.drop()

    def _outcome_failed(self):
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        result = getattr(outcome, "result", None)
        if result is None:
            return False
        return any(test is self for test, _ in result.failures + result.errors)

    def start_daemon(self, *extra_args, base_url=None, env=None, listening=True):
        daemon = Daemon(self.db.url, base_url or self.yahoo.base_url,
                        extra_args, env)
        self.daemons.append(daemon)
        if listening:
            daemon.wait_listening()
        return daemon

    def stop_daemon(self, daemon):
        self.assertEqual(daemon.stop(), 0, "backfilld should exit 0 on SIGTERM")

    def run_cli(self, *args):
        """Runs a one-shot subcommand; returns (exit code, output)."""
        command, *options = args
        proc = subprocess.run([BINARY, command, f"--db.url={self.db.url}",
                               *options],
                              capture_output=True, text=True, timeout=60)
        return proc.returncode, proc.stdout + proc.stderr

    def backfilled_records(self, daemon, symbol):
        """N from the daemon's `Backfilled SYMBOL: N records` line."""
        daemon.wait_for(rf"Backfilled {re.escape(symbol)}: \d+ records")
        match = re.search(rf"Backfilled {re.escape(symbol)}: (\d+) records",
                          daemon.output())
        return int(match.group(1))
