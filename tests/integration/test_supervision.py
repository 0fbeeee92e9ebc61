"""Supervision: every role dies on its own (through a failpoint), is
restarted on its own, and the work it held is not lost; a role in a crash
loop takes the process down with a non-zero exit. Plus the bound on work
held in memory."""

import re
import unittest

from harness import PipelineTest, wait_until


class RestartEachRole(PipelineTest):

    def crash_once(self, role, trigger):
        """Starts a daemon whose `role` dies once, then checks that it was
        restarted and that an asset still completes after `trigger`."""
        daemon = self.start_daemon(
            env={"BACKFILLD_FAILPOINTS": f"{role}.crash:1"})
        self.db.add_asset(1, "AMD")
        trigger(daemon)
        daemon.wait_for(rf"{role} died \(.*failpoint {role}\.crash.*\);"
                        r" restarting it")
        wait_until(lambda: self.db.job_done(1), timeout=30, what="AMD done")
        self.assertGreater(self.db.price_count(1), 250)
        self.assertEqual(self.db.duplicate_prices(), 0)
        daemon.wait_for(r"restarts=1")
        self.stop_daemon(daemon)
        return daemon

    def test_writer(self):
        self.crash_once("writer", lambda d: self.db.buy(1))

    def test_fetcher(self):
        daemon = self.crash_once("fetcher", lambda d: self.db.buy(1))
        # The jobs it held went back at once, not after the lease.
        self.assertRegex(daemon.output(),
                         r"A fetcher stopped holding \d+ jobs; releasing them")

    def test_dedupe(self):
        self.crash_once("dedupe", lambda d: self.db.buy(1))

    def test_job_queue(self):
        # The fetcher's first pull kills it; the fetcher pulls again from
        # its successor.
        self.crash_once("job-queue", lambda d: self.db.buy(1))

    def test_listener(self):
        def trigger(daemon):
            self.db.buy(1)  # The notification that kills the listener.
        daemon = self.crash_once("listener", trigger)
        # Its successor listened again and caught up on what it missed.
        self.assertEqual(daemon.count(r"listening for new transactions"), 2)

    def test_rate_limiter(self):
        self.crash_once("rate-limiter", lambda d: self.db.buy(1))

    def test_tracker(self):
        daemon = self.start_daemon(
            env={"BACKFILLD_FAILPOINTS": "tracker.crash:1"})
        self.db.add_asset(1, "OLD")
        # History reaching back a year: only the tracker has work to do.
        self.db.execute("INSERT INTO asset_prices (asset_id, date, close)"
                        " VALUES (1, current_date - 370, 5),"
                        " (1, current_date, 5)")
        self.db.buy(1, portfolio=1)
        daemon.wait_for(r"tracker died \(.*failpoint tracker\.crash.*\);"
                        r" restarting it")
        self.db.buy(1, portfolio=2)
        wait_until(lambda: self.db.tracking(1) and self.db.tracking(1)[0] == 2,
                   timeout=30, what="tracking repaired")
        self.stop_daemon(daemon)


class CrashLoop(PipelineTest):

    def test_a_role_that_keeps_dying_exits_non_zero(self):
        daemon = self.start_daemon(
            "--supervisor.max-restarts=2", "--supervisor.restart-window=60s",
            "--retry.base=100ms", "--retry.max-attempts=10",
            env={"BACKFILLD_FAILPOINTS": "writer.crash"})
        self.db.add_asset(1, "AMD")
        self.db.buy(1)
        daemon.wait_for(r"writer died more than 2 times within 60000 ms",
                        timeout=30)
        wait_until(lambda: not daemon.alive(), what="exit")
        self.assertEqual(daemon.proc.returncode, 1)
        # Nothing half-written, and the job waits for the next start.
        self.assertEqual(self.db.price_count(1), 0)
        self.assertIn(self.db.job(1)[0], ("pending", "running"))


class BoundedMemory(PipelineTest):

    def test_a_backlog_waits_in_the_table_not_in_memory(self):
        window = 6
        daemon = self.start_daemon(
            "--fetch.concurrency=3", f"--fetch.window={window}",
            "--yahoo.requests-per-second=500", "--yahoo.burst=50",
            "--yahoo.timeout=20s")
        self.yahoo.set_global(fault="hang")
        n = 400
        values = ", ".join(f"({1000 + i}, 'B{i:03d}')" for i in range(n))
        self.db.execute(f"INSERT INTO assets (id, symbol) VALUES {values}")
        self.db.execute(
            "INSERT INTO transactions (portfolio_id, asset_id, quantity,"
            " price, timestamp) SELECT 1, a, 1, 1, now()"
            f" FROM generate_series(1000, {1000 + n - 1}) a")
        wait_until(lambda: self.db.scalar(
            "SELECT count(*) FROM backfill_jobs") == n, what="all queued")
        daemon.wait_for(rf"notifications={n} ")
        # While the provider hangs, only the window is claimed.
        running = self.db.jobs_in("running")
        self.assertLessEqual(running, window)
        self.yahoo.set_global(fault=None)
        wait_until(lambda: self.db.jobs_in("done") == n,
                   timeout=120, what="backlog drained")
        daemon.wait_for(r"Summary: .*done=" + str(n))
        peaks = [int(m) for m in
                 re.findall(r"jobs_in_memory_max=(\d+)", daemon.output())]
        self.assertTrue(peaks)
        self.assertLessEqual(max(peaks), window)
        self.assertGreater(max(peaks), 0)
        self.stop_daemon(daemon)


if __name__ == "__main__":
    unittest.main()
