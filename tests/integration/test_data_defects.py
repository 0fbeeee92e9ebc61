"""What the daemon stores when the tracker's data is not what a fresh
database holds: prices written by the tracker's own updater, history on
another basis, transactions deleted."""

import unittest

from harness import PipelineTest, wait_until


class HasPrices(PipelineTest):

    def test_todays_price_from_the_tracker_does_not_stop_the_backfill(self):
        code, out = self.run_cli("migrate")
        self.assertEqual(code, 0, out)
        self.db.add_asset(1, "EARLY")
        # The tracker's updater got there first, with today's price only.
        self.db.execute("INSERT INTO asset_prices (asset_id, date, close)"
                        " VALUES (1, current_date, 1.0)")
        self.db.buy(1)
        daemon = self.start_daemon()
        wait_until(lambda: self.db.job_done(1), what="EARLY backfilled")
        self.assertGreater(self.db.price_count(1), 200)
        self.assertEqual(len(self.yahoo.requests("EARLY")), 1)
        # Done once: the next sighting fetches nothing.
        self.db.buy(1, portfolio=2)
        wait_until(lambda: (self.db.tracking(1) or (0,))[0] == 2,
                   what="second portfolio tracked")
        self.assertEqual(len(self.yahoo.requests("EARLY")), 1)
        self.stop_daemon(daemon)


class Extensions(PipelineTest):

    def test_an_extension_leaves_the_stored_days_alone(self):
        code, out = self.run_cli("migrate")
        self.assertEqual(code, 0, out)
        self.db.add_asset(1, "OLDER")
        # A month stored on some earlier basis (close 1.0), from a weekday
        # (the provider serves that day too: the overlap), and a finished
        # backfill: older history can only come as an extension.
        first = self.db.scalar(
            "SELECT d - CASE extract(isodow FROM d) WHEN 6 THEN 1"
            " WHEN 7 THEN 2 ELSE 0 END FROM (SELECT current_date - 30 AS d) x")
        self.db.execute(
            "INSERT INTO asset_prices (asset_id, date, close, adj_close)"
            " SELECT 1, d::date, 1.0, 1.0 FROM generate_series("
            "%s::date, current_date - 1, interval '1 day') d", (first,))
        self.db.execute(
            "INSERT INTO backfill_jobs (asset_id, kind, state, finished_at)"
            " VALUES (1, 'backfill', 'done', now())")
        self.db.buy(1, when="now() - interval '100 days'")
        daemon = self.start_daemon()
        wait_until(lambda: self.db.job_done(1, "extend"), what="extended")
        daemon.wait_for(r"Extended OLDER back to")
        older = self.db.scalar(
            "SELECT count(*) FROM asset_prices WHERE asset_id = 1"
            " AND date < %s", (first,))
        self.assertGreater(older, 40)
        # The provider served the first stored day too, on its own basis:
        # it was not written.
        request = self.yahoo.requests("OLDER")[0]
        self.assertIn("period2", request["query"])
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM asset_prices WHERE asset_id = 1"
            " AND date >= %s AND close <> 1.0", (first,)), 0)
        self.stop_daemon(daemon)


class Tracking(PipelineTest):

    def test_tracking_users_drop_to_zero_when_transactions_go(self):
        daemon = self.start_daemon("--queue.catch-up-interval=1s")
        self.db.add_asset(1, "GONE")
        self.db.buy(1)
        self.db.buy(1, portfolio=2)
        wait_until(lambda: (self.db.tracking(1) or (0,))[0] == 2,
                   what="two portfolios tracked")
        self.db.execute("DELETE FROM transactions WHERE asset_id = 1")
        # Noticed by the server's count of deleted rows, which a catch-up
        # reads: the next scan is a full one (it may lag a few seconds).
        wait_until(lambda: self.db.tracking(1)[0] == 0, timeout=60,
                   what="tracking down to zero")
        daemon.wait_for(r"Full catch-up scan", count=2)
        self.assertEqual(len(self.yahoo.requests("GONE")), 1)
        self.stop_daemon(daemon)


if __name__ == "__main__":
    unittest.main()
