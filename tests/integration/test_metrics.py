"""The metrics and health endpoint: /metrics moving with the work, linted by
promtool and parsed by prometheus_client; /readyz following the database;
`backfilld health`; metrics.port=0; a port that is taken."""

import os
import shutil
import socket
import subprocess
import unittest
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from harness import BINARY, PipelineTest, wait_until

PROMTOOL = shutil.which("promtool")


def free_port():
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    """(status, body) of a GET on the daemon's endpoint."""
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def samples(text):
    """{(sample name, ((label, value), ...)): value} from an exposition."""
    result = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            result[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return result


def value(text, name, **labels):
    return samples(text).get((name, tuple(sorted(labels.items()))))


def listening_sockets(pid):
    """Loopback/any TCP sockets in LISTEN state that process `pid` holds."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                # st 0A is LISTEN; field 9 is the socket's inode.
                if fields[3] == "0A" and fields[9] in inodes:
                    found.append(fields[1])
    return found


class Metrics(PipelineTest):

    def start_with_metrics(self, *extra_args):
        port = free_port()
        daemon = self.start_daemon(f"--metrics.port={port}", *extra_args)
        return daemon, port

    def scrape(self, port):
        status, body = get(port, "/metrics")
        self.assertEqual(status, 200, body)
        return body

    def lint(self, text):
        """promtool's verdict on the exposition, and the client's parser."""
        if PROMTOOL is None:
            self.fail("promtool not installed (Debian package prometheus)")
        proc = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0,
                         f"promtool: {proc.stdout}{proc.stderr}")
        self.assertEqual(proc.stdout + proc.stderr, "",
                         "promtool found something to say")
        names = {f.name for f in text_string_to_metric_families(text)}
        self.assertIn("backfilld_jobs_done", names)
        self.assertIn("backfilld_fetch_duration_seconds", names)

    def test_counters_move_as_an_asset_is_backfilled(self):
        daemon, port = self.start_with_metrics()
        daemon.wait_for(rf"Metrics on http://127\.0\.0\.1:{port}/metrics")
        before = self.scrape(port)
        self.lint(before)
        self.assertEqual(
            value(before, "backfilld_build_info", version="0.1.0"), 1.0)
        # Nothing fetched yet: the counters start at zero, for every kind.
        for kind in ("backfill", "extend", "refresh"):
            self.assertEqual(
                value(before, "backfilld_jobs_done_total", kind=kind), 0.0)
        self.assertEqual(value(before, "backfilld_rows_written_total"), 0.0)
        self.assertEqual(
            value(before, "backfilld_fetch_duration_seconds_count"), 0.0)

        self.db.add_asset(12, "AMD")
        self.db.buy(12)
        records = self.backfilled_records(daemon, "AMD")
        wait_until(lambda: self.db.job_done(12), what="job done")

        def done():
            text = self.scrape(port)
            return text if value(text, "backfilld_jobs_done_total",
                                 kind="backfill") >= 1 else None
        after = wait_until(done, what="backfilld_jobs_done_total >= 1")
        self.lint(after)
        self.assertEqual(value(after, "backfilld_rows_written_total"),
                         float(records))
        self.assertGreaterEqual(
            value(after, "backfilld_notifications_total"), 1.0)
        self.assertGreaterEqual(
            value(after, "backfilld_jobs_queued_total", source="notification",
                  kind="backfill")
            + value(after, "backfilld_jobs_queued_total", source="catch_up",
                    kind="backfill"),
            1.0)
        self.assertEqual(
            value(after, "backfilld_jobs_done_total", kind="extend"), 0.0)
        self.assertEqual(
            value(after, "backfilld_fetch_duration_seconds_count"), 1.0)
        self.assertEqual(
            value(after, "backfilld_fetch_duration_seconds_bucket", le="+Inf"),
            1.0)
        self.assertEqual(
            value(after, "backfilld_write_duration_seconds_count"), 1.0)
        self.assertEqual(value(after, "backfilld_provider_requests_total",
                               provider="yahoo", status_class="2xx"), 1.0)
        # The start-up scan is a full one, and it was timed.
        self.assertGreaterEqual(
            value(after, "backfilld_catch_up_scans_total", scan="full"), 1.0)
        self.assertGreaterEqual(
            value(after, "backfilld_catch_up_duration_seconds_count",
                  scan="full"), 1.0)
        self.assertEqual(value(after, "backfilld_role_up", role="fetcher"),
                         1.0)
        self.stop_daemon(daemon)

    def queue(self, text, state, kind="backfill"):
        return value(text, "backfilld_queue_jobs", kind=kind, state=state)

    def test_queue_gauges_follow_the_table_and_limiter_waits_count(self):
        # One job in hand at a time and one request a second: the others
        # wait in the table, and the requests wait for the limiter.
        daemon, port = self.start_with_metrics(
            "--metrics.sample-interval=1s", "--fetch.concurrency=1",
            "--fetch.window=1", "--yahoo.requests-per-second=1",
            "--yahoo.burst=1")

        def sampled():
            text = self.scrape(port)
            return text if self.queue(text, "pending") is not None else None
        empty = wait_until(sampled, what="a first look at the queue")
        self.lint(empty)
        for kind in ("backfill", "extend", "refresh"):
            for state in ("pending", "running", "failed"):
                self.assertEqual(self.queue(empty, state, kind), 0.0)
            self.assertEqual(value(empty, "backfilld_queue_oldest_due_seconds",
                                   kind=kind), 0.0)
            self.assertEqual(value(empty, "backfilld_queue_due_jobs",
                                   kind=kind), 0.0)
        self.assertGreater(
            value(empty, "backfilld_queue_sample_timestamp_seconds"), 1.6e9)
        self.assertEqual(value(empty, "backfilld_rate_limiter_waits_total",
                               provider="yahoo"), 0.0)

        symbols = ("AMD", "AAPL", "MSFT", "NVDA")
        for i, symbol in enumerate(symbols):
            self.db.add_asset(20 + i, symbol)
        for i in range(len(symbols)):
            self.db.buy(20 + i)

        def backlog():
            text = self.scrape(port)
            return text if self.queue(text, "pending") >= 1 and value(
                text, "backfilld_queue_due_jobs", kind="backfill") >= 1 \
                and value(text, "backfilld_queue_oldest_due_seconds",
                kind="backfill") > 0 else None
        waiting = wait_until(backlog, what="pending jobs on /metrics")
        self.lint(waiting)
        for i in range(len(symbols)):
            wait_until(lambda: self.db.job_done(20 + i), timeout=30,
                       what=f"{symbols[i]} done")

        def drained():
            text = self.scrape(port)
            return text if self.queue(text, "pending") == 0 and \
                self.queue(text, "running") == 0 else None
        after = wait_until(drained, what="an empty queue on /metrics")
        self.lint(after)
        self.assertEqual(
            value(after, "backfilld_queue_oldest_due_seconds", kind="backfill"),
            0.0)
        self.assertEqual(
            value(after, "backfilld_queue_due_jobs", kind="backfill"), 0.0)
        self.assertEqual(
            value(after, "backfilld_jobs_done_total", kind="backfill"), 4.0)
        # The first request took the burst; the others waited about a second.
        self.assertGreaterEqual(
            value(after, "backfilld_rate_limiter_waits_total",
                  provider="yahoo"), 2.0)
        # Only Yahoo was asked: the other providers' series stay at zero.
        self.assertEqual(
            value(after, "backfilld_rate_limiter_waits_total",
                  provider="frankfurter"), 0.0)
        waited = value(after, "backfilld_rate_limiter_wait_seconds_count",
                       provider="yahoo")
        self.assertGreaterEqual(waited, 2.0)
        self.assertEqual(
            value(after, "backfilld_rate_limiter_wait_seconds_bucket",
                  provider="yahoo", le="+Inf"), waited)
        self.assertGreater(
            value(after, "backfilld_rate_limiter_wait_seconds_sum",
                  provider="yahoo"), 1.0)
        self.assertEqual(
            value(after, "backfilld_provider_throttled_total",
                  provider="yahoo"), 0.0)
        self.stop_daemon(daemon)

    def test_readyz_follows_the_database(self):
        daemon, port = self.start_with_metrics("--metrics.sample-interval=1s")
        self.assertEqual(get(port, "/healthz")[0], 200)
        wait_until(lambda: get(port, "/readyz")[0] == 200, what="ready")
        self.assertEqual(get(port, "/readyz")[1].strip(), "ready")
        code, out = self.health(port)
        self.assertEqual(code, 0, out)

        self.db._admin(f"ALTER DATABASE {self.db.name} ALLOW_CONNECTIONS false")
        # Only this test's database: other tests' daemons and the db.*
        # tests run alongside, under the same application_name.
        self.db._admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                       " WHERE application_name = 'backfilld'"
                       f" AND datname = '{self.db.name}'")

        def unready():
            status, body = get(port, "/readyz")
            return status == 503 and "database unreachable" in body \
                and "LISTEN connection not active" in body
        wait_until(unready, timeout=30, what="/readyz 503 naming both causes")

        # The queue's gauges go rather than stay at what they last were.
        def absent():
            text = self.scrape(port)
            return text if self.queue(text, "pending") is None and value(
                text, "backfilld_queue_sample_errors_total") >= 1 else None
        text = wait_until(absent, timeout=30, what="queue gauges absent")
        self.lint(text)
        self.assertGreater(
            value(text, "backfilld_queue_sample_timestamp_seconds"), 1.6e9)
        # Alive all the same.
        self.assertEqual(get(port, "/healthz")[0], 200)
        code, out = self.health(port)
        self.assertEqual(code, 1, out)
        self.assertIn("not ready (HTTP 503)", out)
        self.assertIn("database unreachable", out)

        self.db._admin(f"ALTER DATABASE {self.db.name} ALLOW_CONNECTIONS true")
        wait_until(lambda: get(port, "/readyz")[0] == 200, timeout=30,
                   what="ready again")
        code, out = self.health(port)
        self.assertEqual(code, 0, out)
        text = self.scrape(port)
        self.assertGreaterEqual(
            value(text, "backfilld_database_unavailable_total"), 1.0)
        wait_until(lambda: self.queue(self.scrape(port), "pending") == 0,
                   timeout=30, what="queue gauges back")
        self.stop_daemon(daemon)

    def test_a_restart_is_counted_by_role(self):
        port = free_port()
        daemon = self.start_daemon(
            f"--metrics.port={port}",
            env={"BACKFILLD_FAILPOINTS": "writer.crash:1"})
        self.db.add_asset(1, "AMD")
        self.db.buy(1)
        daemon.wait_for(r"writer died \(.*failpoint writer\.crash.*\);"
                        r" restarting it")

        def counted():
            text = self.scrape(port)
            return text if value(text, "backfilld_actor_restarts_total",
                                 role="writer") == 1.0 else None
        text = wait_until(counted, what="a writer restart on /metrics")
        for role in ("fetcher", "listener", "tracker"):
            self.assertEqual(value(text, "backfilld_actor_restarts_total",
                                   role=role), 0.0)
        # The restarted writer finishes the job, and the role is up again.
        wait_until(lambda: self.db.job_done(1), timeout=30, what="AMD done")
        wait_until(lambda: get(port, "/readyz")[0] == 200, what="ready")
        self.stop_daemon(daemon)

    def health(self, port):
        proc = subprocess.run([BINARY, "health", f"--metrics.port={port}"],
                              capture_output=True, text=True, timeout=30)
        return proc.returncode, proc.stdout + proc.stderr

    def test_health_when_nothing_answers(self):
        code, out = self.health(free_port())
        self.assertEqual(code, 1, out)
        self.assertIn("cannot reach", out)
        proc = subprocess.run([BINARY, "health", "--metrics.port=0"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("metrics.port=0", proc.stderr)

    def test_port_zero_serves_nothing(self):
        daemon = self.start_daemon("--metrics.port=0")
        # Working, yet holding no listening socket at all.
        self.db.add_asset(12, "AMD")
        self.db.buy(12)
        self.backfilled_records(daemon, "AMD")
        self.assertEqual(listening_sockets(daemon.proc.pid), [])
        self.assertEqual(daemon.count(r"Metrics on "), 0)
        self.stop_daemon(daemon)
        # The check sees a listener when there is one.
        daemon, port = self.start_with_metrics()
        self.assertEqual(len(listening_sockets(daemon.proc.pid)), 1)
        self.stop_daemon(daemon)

    def test_a_sample_interval_below_a_second_is_refused(self):
        proc = subprocess.run([BINARY, "--metrics.sample-interval=200ms",
                               f"--db.url={self.db.url}"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn("metrics.sample-interval must be at least 1s "
                      "(command line)", proc.stdout + proc.stderr)

    def test_a_taken_port_stops_start_up_naming_the_setting(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            daemon = self.start_daemon(f"--metrics.port={port}",
                                       listening=False)
            daemon.proc.wait(30)
        self.assertEqual(daemon.proc.returncode, 1, daemon.output())
        self.assertIn("metrics.port", daemon.output())
        self.assertIn(f"127.0.0.1:{port}", daemon.output())


if __name__ == "__main__":
    unittest.main()
