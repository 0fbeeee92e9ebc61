"""What the daemon stores when the tracker's data is not what a fresh
database holds: prices written by the tracker's own updater, history on
another basis, transactions deleted."""

import datetime as dt
import unittest
from unittest import mock

from harness import PipelineTest, wait_until

import yahoo_calendar  # noqa: E402 (harness puts the fakes on the path)
from yahoo_calendar import instrument  # noqa: E402


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
        # A month of weekdays stored from an earlier answer on the same
        # basis, give or take rounding (a tenth of a percent above what the
        # provider serves now, within the tolerance), from a weekday (the
        # provider serves that day too: the overlap), and a finished
        # backfill: older history can only come as an extension.
        first = self.db.scalar(
            "SELECT d - CASE extract(isodow FROM d) WHEN 6 THEN 1"
            " WHEN 7 THEN 2 ELSE 0 END FROM (SELECT current_date - 30 AS d) x")
        today = self.db.scalar("SELECT current_date")
        inst = instrument("OLDER")
        stored = {}
        day = first
        while day < today:
            if day.weekday() < 5:
                bar = inst.bar(day)
                stored[day] = (round(bar.close * 1.001, 4),
                               round(bar.adjclose * 1.001, 4))
                self.db.execute(
                    "INSERT INTO asset_prices (asset_id, date, close,"
                    " adj_close) VALUES (1, %s, %s, %s)",
                    (day, *stored[day]))
            day += dt.timedelta(days=1)
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
        # it agreed, so nothing was rewritten and only one request made.
        requests = self.yahoo.requests("OLDER")
        self.assertEqual(len(requests), 1)
        self.assertIn("period2", requests[0]["query"])
        rows = self.db.rows(
            "SELECT date, close, adj_close FROM asset_prices"
            " WHERE asset_id = 1 AND date >= %s", (first,))
        self.assertEqual(
            {day: (float(close), float(adj)) for day, close, adj in rows},
            stored)
        self.assertEqual(daemon.count(r"Rewrote the history"), 0)
        self.stop_daemon(daemon)


class BasisChange(PipelineTest):

    def split(self, symbol, ratio):
        """From now on the fake serves `symbol` as after a split: every
        price divided by `ratio`, on every day (Yahoo adjusts the whole
        history as of the day it answers)."""
        original = yahoo_calendar.Instrument.bar

        def bar(inst, day):
            served = original(inst, day)
            if inst.symbol != symbol:
                return served
            return served._replace(
                open=served.open / ratio, high=served.high / ratio,
                low=served.low / ratio, close=served.close / ratio,
                adjclose=served.adjclose / ratio,
                volume=served.volume * ratio)

        patcher = mock.patch.object(yahoo_calendar.Instrument, "bar", bar)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_a_split_since_the_backfill_rewrites_the_whole_history(self):
        daemon = self.start_daemon()
        self.db.add_asset(1, "SPLT")
        self.db.buy(1)
        wait_until(lambda: self.db.job_done(1), what="SPLT backfilled")
        backfilled = self.db.price_count(1)
        first = self.db.scalar(
            "SELECT min(date) FROM asset_prices WHERE asset_id = 1")
        self.split("SPLT", 2)
        # A transaction older than the stored history asks for an extension,
        # whose answer is on the new basis.
        self.db.buy(1, portfolio=2, when="now() - interval '500 days'")
        wait_until(lambda: self.db.job_done(1, "extend"), what="extended")
        daemon.wait_for(r"Rewrote the history of SPLT: the provider's"
                        r" adjustment changed \(close of ")
        # Every stored day is on the basis the provider serves now.
        rows = self.db.rows(
            "SELECT date, close, adj_close FROM asset_prices"
            " WHERE asset_id = 1 ORDER BY date")
        # A year of weekdays backfilled, about a hundred more extended.
        self.assertGreater(len(rows), backfilled + 90)
        self.assertLess(rows[0][0], first - dt.timedelta(days=120))
        inst = instrument("SPLT")
        for day, close, adj_close in rows:
            bar = inst.bar(day)
            self.assertAlmostEqual(float(close), bar.close, delta=1e-6,
                                   msg=str(day))
            self.assertAlmostEqual(float(adj_close), bar.adjclose,
                                   delta=1e-6, msg=str(day))
        self.assertEqual(self.db.duplicate_prices(), 0)
        # The backfill, the extension, and the one rewrite.
        self.assertEqual(len(self.yahoo.requests("SPLT")), 3)
        self.assertEqual(daemon.count(r"Rewrote the history of SPLT"), 1)
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
