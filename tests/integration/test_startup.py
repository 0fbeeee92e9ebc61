"""Start-up and an idle daemon, as an operator meets them: signals before the
pipeline runs, a database that refuses us, a mistyped provider URL, the
summary line of a daemon with nothing to do, its threads asleep while there
is nothing to do, and a role with only the grants the README lists (issue
12)."""

import datetime as dt
import re
import signal
import socket
import subprocess
import time
import unittest
from pathlib import Path

import psycopg2

from harness import (ADMIN_URL, BINARY, Daemon, PipelineTest, database_url,
                     wait_until)

# Every record the daemon writes starts like this; anything else is a record
# that spilled over a line break.
RECORD = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d \S+ ")

# Lines only a running pipeline writes.
PIPELINE = re.compile(r"\[(supervisor|listener|dedupe|fetcher|writer|tracker)\]")


def records(output):
    """The daemon's log lines, without what a sanitizer prints at exit."""
    lines = output.splitlines()
    if "Suppressions used:" in lines:
        lines = lines[:lines.index("Suppressions used:") - 1]
    return lines


def with_user(url, user):
    """`url` (postgresql://user@host…) with another user."""
    return re.sub(r"^(postgres(?:ql)?://)[^@/]*@", rf"\g<1>{user}@", url)


class StartUp(PipelineTest):

    def start_unready(self, db_url, *extra_args):
        """A daemon that is not expected to reach the pipeline."""
        daemon = Daemon(db_url, self.yahoo.base_url, extra_args)
        self.daemons.append(daemon)
        return daemon

    def assert_exits_cleanly_on_sigterm(self, daemon):
        daemon.proc.send_signal(signal.SIGTERM)
        try:
            code = daemon.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.fail("backfilld ignored SIGTERM during start-up")
        self.assertEqual(code, 0, daemon.output())
        self.assertIsNone(PIPELINE.search(daemon.output()),
                          "the pipeline must not start after SIGTERM")

    def test_sigterm_while_waiting_for_the_database(self):
        # A loopback port nobody listens on: connections are refused.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        daemon = self.start_unready(f"postgresql://postgres@127.0.0.1:{port}/x")
        # Between two attempts: the retry loop is where the signal was lost.
        daemon.wait_for(r"Database still not reachable")
        self.assert_exits_cleanly_on_sigterm(daemon)
        self.assertIn("Received SIGTERM while waiting for the database; exiting",
                      daemon.output())

    def test_sigterm_while_connecting(self):
        # A peer that accepts TCP and never answers: libpq waits for it.
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        self.addCleanup(server.close)
        port = server.getsockname()[1]
        daemon = self.start_unready(f"postgresql://postgres@127.0.0.1:{port}/x",
                                    "--db.connect-timeout=120s")
        server.settimeout(30)
        peer, _ = server.accept()
        self.addCleanup(peer.close)
        self.assert_exits_cleanly_on_sigterm(daemon)
        self.assertIn("Received SIGTERM while connecting to the database",
                      daemon.output())

    def test_sigterm_while_migrating(self):
        # Another daemon's migration holds the lock (db/schema.cpp).
        holder = psycopg2.connect(self.db.url)
        holder.autocommit = True
        self.addCleanup(holder.close)
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (0x62666c64,))
        daemon = self.start_unready(self.db.url)
        wait_until(lambda: self.db.scalar(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = 'backfilld'"
            " AND wait_event_type = 'Lock' AND datname = current_database()"),
            what="migration waiting")
        self.assert_exits_cleanly_on_sigterm(daemon)
        self.assertIn("Received SIGTERM while migrating the schema",
                      daemon.output())

    def test_a_refusing_database_is_reported_once_per_cause(self):
        # A database the server refuses to let us into, until it exists (a
        # container still creating it): the server says why on every try.
        name = self.db.name + "_late"
        late_url = database_url(ADMIN_URL, name)
        self.addCleanup(self.db._admin, f"DROP DATABASE IF EXISTS {name}"
                                        " WITH (FORCE)")
        daemon = self.start_unready(late_url)
        daemon.wait_for(r"Database still not reachable", count=3)
        out = daemon.output()
        self.assertEqual(
            len(re.findall(r"Database not reachable yet .*does not exist",
                           out)), 1, out)
        # The state changes: said once, and the daemon goes on.
        self.db._admin(f"CREATE DATABASE {name}")
        daemon.wait_for(r"Database reachable after \d+ failed attempts")
        daemon.wait_listening()
        self.assertEqual(daemon.stop(), 0)
        lines = records(daemon.output())
        for line in lines:
            self.assertRegex(line, RECORD, "a log record spans lines")
        # A handful of warnings, not one per attempt.
        warnings = [l for l in lines if re.search(r" (warning|error) ", l)]
        self.assertLessEqual(len(warnings), 2, "\n".join(warnings))

    def test_a_database_that_refuses_a_running_daemon(self):
        daemon = self.start_daemon()
        # The server keeps refusing us, with the same message every time.
        self.db._admin(f"ALTER DATABASE {self.db.name} ALLOW_CONNECTIONS false")
        # Only this test's daemon: the DB tests running beside it connect as
        # "backfilld" too.
        self.db._admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                       " WHERE application_name = 'backfilld'"
                       f" AND datname = '{self.db.name}'")
        # Many quiet retries (the counter), of the listener and the stores.
        daemon.wait_for(r"Summary: .*db_unavailable=([2-9]\d|\d{3,})")
        daemon.wait_for(r"\[job-store\] Database unavailable: ")
        out = daemon.output()
        said = re.findall(r".*not currently accepting connections.*", out)
        # Once by the listener, once by each store, and by the first caller
        # of each: not once per retry.
        self.assertLessEqual(len(said), 7, "\n".join(said))
        # The roles retry at every tick, quietly: each cause said once
        # (dedupe's catch-up and the queue's claims retry every 100 ms here).
        daemon.wait_for(r"Summary: .*db_unavailable=(\d{3,})", timeout=60)
        warnings = [l for l in records(daemon.output())
                    if re.search(r" warning \[(dedupe|job-queue|tracker)\]", l)]
        self.assertLessEqual(len(warnings), 6, "\n".join(warnings))
        self.db._admin(f"ALTER DATABASE {self.db.name} ALLOW_CONNECTIONS true")
        daemon.wait_for(r"Listening again")
        self.db.add_asset(12, "AMD")
        self.db.buy(12)
        self.backfilled_records(daemon, "AMD")
        daemon.wait_for(r"\[(job|writer)-store\] Database available again")
        self.stop_daemon(daemon)
        for line in records(daemon.output()):
            self.assertRegex(line, RECORD, "a log record spans lines")

    def test_a_malformed_provider_url_is_refused_at_start(self):
        for url in ("htp://x", "http://", "https://:443/v8", "query1.yahoo"):
            proc = subprocess.run(
                [BINARY, f"--db.url={self.db.url}", f"--yahoo.base-url={url}"],
                capture_output=True, text=True, timeout=30)
            out = proc.stdout + proc.stderr
            self.assertEqual(proc.returncode, 2, out)
            self.assertIn("yahoo.base-url", out)
            self.assertNotIn("backfilld starting", out)

    def test_an_idle_daemon_does_not_repeat_its_summary(self):
        # Debug level shows every tick (the positive signal that several
        # passed); info shows a summary only when a counter moved.
        daemon = self.start_daemon("--log.summary-interval=200ms",
                                   "--log.level=debug")
        daemon.wait_for(r"debug \[supervisor\] Summary: ", count=5)
        infos = re.findall(r"info  \[supervisor\] Summary: (.*)",
                           daemon.output())
        self.assertEqual(len(infos), len(set(infos)),
                         "an unchanged summary was logged at info")
        # A counter moves: the next summary is said at info.
        self.db.execute("SELECT pg_notify('transaction_created', 'garbage')")
        daemon.wait_for(r"info  \[supervisor\] Summary: .*rejected=1 ")
        self.stop_daemon(daemon)

    def test_an_idle_daemon_waits_instead_of_polling(self):
        # CAF's default scheduler (work stealing) has idle threads wake
        # every 50 µs, then every 10 ms, to look for work; backfilld's
        # threads wait until there is some. Counted as the wake-ups (context
        # switches) of all its threads over the same idle seconds, against a
        # daemon told to use work stealing.
        def wakeups(*args):
            daemon = self.start_daemon(*args)
            time.sleep(1)
            before = voluntary_switches(daemon.proc.pid)
            time.sleep(3)
            count = voluntary_switches(daemon.proc.pid) - before
            self.stop_daemon(daemon)
            return count

        waiting = wakeups()
        polling = wakeups("--scheduler.policy=stealing")
        self.assertLess(waiting * 4, polling,
                        f"{waiting} wake-ups idle, {polling} with stealing")


def voluntary_switches(pid):
    """The voluntary context switches of all the process's threads."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue    # a thread that ended meanwhile
        total += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", text,
                               re.M).group(1))
    return total


class LeastPrivilege(PipelineTest):
    """The grants the README documents for a daemon role, after the owner
    ran `backfilld migrate`, are enough for the whole pipeline."""

    def test_a_daemon_role_with_the_documented_grants(self):
        code, out = self.run_cli("migrate")
        self.assertEqual(code, 0, out)
        role = f"bfd_{self.db.name[-20:]}"
        self.db._admin(f"DROP ROLE IF EXISTS {role}")
        self.db._admin(f"CREATE ROLE {role} LOGIN")
        # Runs after tearDown dropped the database and the grants with it.
        self.addCleanup(self.db._admin, f"DROP ROLE IF EXISTS {role}")
        # Exactly the README's list (section "A role for the daemon"), and
        # nothing through PUBLIC's defaults.
        self.db.execute(f"""
            REVOKE ALL ON DATABASE {self.db.name} FROM PUBLIC;
            REVOKE ALL ON SCHEMA public FROM PUBLIC;
            GRANT CONNECT ON DATABASE {self.db.name} TO {role};
            GRANT USAGE ON SCHEMA public TO {role};
            GRANT SELECT ON assets, transactions, backfilld_schema TO {role};
            GRANT SELECT, INSERT, UPDATE ON asset_prices, tracked_assets,
              asset_events TO {role};
            GRANT DELETE ON asset_prices TO {role};
            GRANT SELECT, INSERT, DELETE ON price_outliers TO {role};
            GRANT ALL ON backfill_jobs, backfilld_asset_state,
              backfilld_provider_state TO {role};
            GRANT USAGE ON SEQUENCE backfill_jobs_id_seq TO {role};
        """)
        self.db.add_asset(12, "AMD")
        self.db.add_asset(13, "NOSUCH")
        self.yahoo.set_symbol("NOSUCH", status="unknown")
        # A bad print held back deletes from asset_prices (a stored copy of
        # it, whether or not there is one).
        spike = (dt.date.today() - dt.timedelta(days=30))
        while spike.weekday() >= 5:
            spike -= dt.timedelta(days=1)
        self.yahoo.set_symbol("AMD", spikes=[{"date": spike.isoformat(),
                                              "close": 0.24}])
        daemon = Daemon(with_user(self.db.url, role), self.yahoo.base_url)
        self.daemons.append(daemon)
        daemon.wait_listening()
        self.db.buy(12)
        self.db.buy(13)
        self.backfilled_records(daemon, "AMD")
        wait_until(lambda: self.db.tracking(12), what="tracked_assets row")
        wait_until(lambda: self.db.job_failed(13), what="NOSUCH failed")
        self.assertEqual([o[:3] for o in self.db.outliers(12)],
                         [(spike, 0.24, "spike")])
        # The provider snapshot for `status` is written with these grants.
        wait_until(lambda: self.db.scalar(
            "SELECT count(*) FROM backfilld_provider_state") > 0,
            timeout=20, what="a provider snapshot")
        self.assertNotRegex(daemon.output(), r"permission denied")
        self.assertEqual(daemon.stop(), 0)
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM backfill_jobs WHERE state = 'done'"), 1)


if __name__ == "__main__":
    unittest.main()
