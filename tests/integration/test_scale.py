"""Scale: a tracker with 200,000 transactions costs backfilld little at idle.

A CI-sized version of the benchmark in bench/catch_up.py: the catch-up scans
between full ones look only at the transactions added since the last scan
(so the tracker recounts only what changed), and an asset added without a
notification is still found by them."""

import re

from harness import PipelineTest, wait_until

ASSETS = 500
TRANSACTIONS_PER_ASSET = 400


class IdleOnABigTracker(PipelineTest):

    def fill_tracker(self):
        """Assets with 400 days of prices and 200,000 transactions, as a
        tracker that backfilld has served for a while looks."""
        code, output = self.run_cli("migrate")
        self.assertEqual(code, 0, output)
        self.db.execute(
            "INSERT INTO assets (id, symbol, asset_type, currency)"
            " SELECT g, 'S' || g, 'stock', 'USD'"
            " FROM generate_series(1, %s) g", (ASSETS,))
        self.db.execute(
            "INSERT INTO asset_prices (asset_id, date, close)"
            " SELECT a, current_date - d, 100"
            " FROM generate_series(1, %s) a, generate_series(1, 400) d",
            (ASSETS,))
        # Without notifications: this is history, not news.
        self.db.execute("SET session_replication_role = replica")
        self.db.execute(
            "INSERT INTO transactions (portfolio_id, asset_id, quantity,"
            " price, timestamp)"
            " SELECT 1 + n %% 7, a, 1, 100, now() - (n %% 300) * interval '1 day'"
            " FROM generate_series(1, %s) a, generate_series(1, %s) n",
            (ASSETS, TRANSACTIONS_PER_ASSET))
        self.db.execute("SET session_replication_role = origin")
        self.db.execute("ANALYZE")

    def test_incremental_scans_read_only_what_is_new(self):
        self.fill_tracker()
        daemon = self.start_daemon("--queue.catch-up-interval=1s")
        daemon.wait_for(rf"Full catch-up scan looked at {ASSETS} assets",
                        timeout=120)
        daemon.wait_for(rf"Refreshed tracking of {ASSETS} assets")
        daemon.wait_for(r"Incremental catch-up scan", count=3, timeout=30)
        # Every asset has its history: nothing is fetched, and the scans
        # between full ones look at nothing while nothing changes.
        self.assertEqual(self.yahoo.requests(), [])
        scans = re.findall(r"Incremental catch-up scan looked at (\d+) assets",
                           daemon.output())
        self.assertEqual(set(scans), {"0"})
        # A new transaction of a known asset: the next scan looks at that
        # asset alone, and the tracker recounts it alone.
        self.db.buy(7, portfolio=99)
        daemon.wait_for(r"Incremental catch-up scan looked at 1 assets",
                        timeout=30)
        wait_until(lambda: self.db.tracking(7) and self.db.tracking(7)[0] == 8,
                   what="asset 7 tracked by its eighth portfolio")
        self.assertEqual(
            daemon.count(rf"Refreshed tracking of {ASSETS} assets"), 1)
        self.stop_daemon(daemon)

    def test_an_asset_without_a_notification_is_found_by_a_cheap_scan(self):
        self.fill_tracker()
        daemon = self.start_daemon("--queue.catch-up-interval=1s")
        daemon.wait_for(rf"Full catch-up scan looked at {ASSETS} assets",
                        timeout=120)
        self.db.add_asset(ASSETS + 1, "AMD")
        self.db.execute("SET session_replication_role = replica")
        self.db.buy(ASSETS + 1)
        self.db.execute("SET session_replication_role = origin")
        wait_until(lambda: self.db.job_done(ASSETS + 1), timeout=30,
                   what="the silent asset backfilled")
        self.assertRegex(daemon.output(),
                         rf"Catch-up: asset {ASSETS + 1} \(AMD\)")
        self.assertGreater(self.db.price_count(ASSETS + 1), 200)
        # Found by an incremental scan, not by another full one.
        self.assertEqual(daemon.count(r"Full catch-up scan"), 1)
        # A notified asset takes the fast path as on an empty database.
        self.db.add_asset(ASSETS + 2, "AAPL")
        self.db.buy(ASSETS + 2)
        wait_until(lambda: self.db.job_done(ASSETS + 2), timeout=30,
                   what="the notified asset backfilled")
        self.assertRegex(daemon.output(),
                         rf"New asset detected \(id {ASSETS + 2}, AAPL\)")
        self.stop_daemon(daemon)
