"""A daemon killed with jobs in hand: its jobs go to a live daemon as soon as
its database session is gone, not when its lease runs out.

The lease is a minute here, so a test that waited for it would time out;
each wait below is well under it."""

import re
import unittest

from harness import PipelineTest, wait_until

# Far longer than any wait below: only the holder check can hand jobs over.
LEASE = ["--queue.lease=60s", "--queue.heartbeat-interval=5s"]
WELL_WITHIN_LEASE = 25


def worker_of(daemon):
    """The daemon's `locked_by` prefix (host:pid:)."""
    return f":{daemon.proc.pid}:"


class CrashRecovery(PipelineTest):

    def held_by(self, daemon):
        return self.db.scalar(
            "SELECT count(*) FROM backfill_jobs WHERE state = 'running'"
            " AND locked_by LIKE %s", (f"%{worker_of(daemon)}%",))

    def slow_assets(self, n, first_id=10, prefix="K"):
        for i in range(n):
            symbol = f"{prefix}{i}"
            self.yahoo.set_symbol(symbol, delay_ms=4000)
            self.db.add_asset(first_id + i, symbol)
            self.db.buy(first_id + i)
        return [f"{prefix}{i}" for i in range(n)]

    def test_kill_9_mid_batch_and_restart(self):
        daemon = self.start_daemon(*LEASE)
        symbols = self.slow_assets(5)
        wait_until(lambda: self.held_by(daemon) >= 4, what="jobs in hand")
        held = self.held_by(daemon)
        daemon.kill()
        self.assertEqual(self.db.jobs_in("done"), 0)
        for symbol in symbols:
            self.yahoo.set_symbol(symbol, delay_ms=None)
        again = self.start_daemon(*LEASE)
        wait_until(lambda: self.db.jobs_in("done") == 5,
                   timeout=WELL_WITHIN_LEASE, what="all five done")
        again.wait_for(r"Reclaimed job .* from the ended database session",
                       count=held)
        self.assertEqual(self.db.duplicate_prices(), 0)
        counts = self.db.rows("SELECT count(*) FROM asset_prices"
                              " GROUP BY asset_id")
        self.assertEqual(len(counts), 5)
        self.assertEqual(len(set(counts)), 1, "no partial history")
        self.stop_daemon(again)

    def test_two_daemons_one_killed_hands_its_jobs_to_the_other(self):
        small = ["--fetch.concurrency=2", "--fetch.window=2"]
        survivor = self.start_daemon(*LEASE, *small)
        victim = self.start_daemon(*LEASE, *small)
        symbols = self.slow_assets(8)
        wait_until(lambda: self.held_by(victim) > 0
                   and self.held_by(survivor) > 0,
                   what="both daemons holding jobs")
        victim_jobs = [row[0] for row in self.db.rows(
            "SELECT id FROM backfill_jobs WHERE state = 'running'"
            " AND locked_by LIKE %s", (f"%{worker_of(victim)}%",))]
        self.assertTrue(victim_jobs)
        victim.kill()
        for symbol in symbols:
            self.yahoo.set_symbol(symbol, delay_ms=None)
        wait_until(lambda: self.db.jobs_in("done") == 8,
                   timeout=WELL_WITHIN_LEASE, what="all eight done")
        survivor.wait_for(
            r"Reclaimed job .* from the ended database session of"
            rf" [^ ]*{re.escape(worker_of(victim))}",
            count=len(victim_jobs))
        self.assertEqual(self.db.duplicate_prices(), 0)
        self.stop_daemon(survivor)


if __name__ == "__main__":
    unittest.main()
