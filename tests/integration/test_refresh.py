"""Staying current: scheduled refreshes with the real binary, a real
PostgreSQL and the fake provider, whose "today" moves."""

import datetime as dt
import time
import unittest
from zoneinfo import ZoneInfo

from harness import PipelineTest, wait_until

UTC = dt.timezone.utc
# Short intervals: a refresh run every two seconds.
REFRESH = ["--refresh.interval=2s", "--refresh.overlap=5"]


def weekdays_before(day, n):
    while n > 0:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def evening(day):
    """23:00 UTC of a day: every US session of it has closed."""
    return dt.datetime.combine(day, dt.time(23, 0), tzinfo=UTC).timestamp()


def period_day(request, key):
    return dt.datetime.fromtimestamp(int(request["query"][key]), UTC).date()


class Refresh(PipelineTest):

    def setUp(self):
        super().setUp()
        # The last weekday whose session closed, and three trading days
        # before it: the fake's "today" starts there.
        today = dt.datetime.now(UTC).date()
        self.d3 = weekdays_before(today, 1)
        self.d0 = weekdays_before(self.d3, 3)
        self.yahoo.set_now(evening(self.d0))

    def dates(self, asset):
        return {r[0] for r in self.db.rows(
            "SELECT date FROM asset_prices WHERE asset_id = %s", (asset,))}

    def backfill(self, daemon, asset, symbol):
        self.db.add_asset(asset, symbol)
        self.db.buy(asset)
        self.backfilled_records(daemon, symbol)
        wait_until(lambda: self.db.tracking(asset), what="tracked")
        return self.dates(asset)

    def aged(self, value=True):
        """Moves every asset's last refresh a week back, as if an exchange
        closed since (the daemon skips assets refreshed after their zone's
        last close, and the fake's days move faster than the daemon's clock);
        returns `value`, for use inside a wait_until predicate."""
        self.db.execute("UPDATE backfilld_asset_state"
                        " SET last_refresh_at = now() - interval '8 days'")
        return value

    def refreshes_of(self, symbol):
        return [r for r in self.yahoo.requests(symbol)
                if "range" not in r["query"]]

    def test_three_trading_days_later_a_refresh_stores_exactly_those(self):
        daemon = self.start_daemon(*REFRESH)
        before = self.backfill(daemon, 12, "AMD")
        self.assertEqual(max(before), self.d0)
        stamp = self.db.tracking(12)[1]
        # Refreshes that find nothing new store nothing and leave
        # last_price_update where it was.
        wait_until(lambda: self.aged(len(self.refreshes_of("AMD")) >= 2),
                   timeout=30, what="two refreshes")
        wait_until(lambda: self.db.job_done(12, "refresh"), what="done")
        self.assertEqual(self.dates(12), before)
        self.assertEqual(self.db.tracking(12)[1], stamp)
        # Three trading days pass.
        seen = len(self.refreshes_of("AMD"))
        self.yahoo.set_now(evening(self.d3))
        new = {self.d3, weekdays_before(self.d3, 1), weekdays_before(self.d3, 2)}
        wait_until(lambda: self.aged(self.dates(12) == before | new),
                   timeout=30, what="the three new days")
        wait_until(lambda: self.db.tracking(12)[1] != stamp,
                   what="last_price_update moved")
        # Every refresh asked only from the last stored day minus the
        # overlap up to now, never for the whole range.
        requests = self.refreshes_of("AMD")
        self.assertGreater(len(requests), seen)
        for r in requests:
            self.assertGreaterEqual(period_day(r, "period1"),
                                    weekdays_before(self.d0, 5))
            self.assertLessEqual(period_day(r, "period1"),
                                 weekdays_before(self.d3, 5))
            self.assertGreaterEqual(int(r["query"]["period2"]),
                                    int(time.time()) - 120)
        daemon.wait_for(r"Refreshed AMD: 3 new or changed records")
        self.assertEqual(self.db.duplicate_prices(), 0)
        self.stop_daemon(daemon)

    def test_todays_bar_is_stored_after_the_close_and_corrected_in_place(self):
        ny = ZoneInfo("America/New_York")
        during = int(dt.datetime.combine(self.d3, dt.time(15, 0),
                                         tzinfo=ny).timestamp())
        after = int(dt.datetime.combine(self.d3, dt.time(16, 45),
                                        tzinfo=ny).timestamp())
        # An hour before New York's close, for the fake and for the daemon.
        self.yahoo.set_now(during)
        daemon = self.start_daemon(*REFRESH,
                                   env={"BACKFILLD_TEST_NOW": str(during)})
        before = self.backfill(daemon, 12, "AMD")
        yesterday = weekdays_before(self.d3, 1)
        self.assertEqual(max(before), yesterday)
        wait_until(lambda: self.aged(len(self.refreshes_of("AMD")) >= 2),
                   timeout=30, what="two refreshes during the session")
        wait_until(lambda: self.db.job_done(12, "refresh"), what="done")
        self.assertEqual(self.dates(12), before)
        self.stop_daemon(daemon)
        # A stored close strays a little (the provider corrected it since).
        served = self.db.scalar(
            "SELECT close FROM asset_prices WHERE asset_id = 12 AND date = %s",
            (yesterday,))
        self.db.execute(
            "UPDATE asset_prices SET close = close * 1.001"
            " WHERE asset_id = 12 AND date = %s", (yesterday,))
        # After the close: today's bar is stored, yesterday's corrected.
        self.yahoo.set_now(after)
        daemon = self.start_daemon(*REFRESH,
                                   env={"BACKFILLD_TEST_NOW": str(after)})
        wait_until(lambda: self.aged(self.dates(12) == before | {self.d3}),
                   timeout=30, what="today's bar")
        wait_until(lambda: self.db.scalar(
            "SELECT close FROM asset_prices WHERE asset_id = 12 AND date = %s",
            (yesterday,)) == served, what="yesterday corrected")
        self.assertNotIn("Rewrote the history", daemon.output())
        self.stop_daemon(daemon)

    def test_a_week_long_hole_is_filled_by_the_next_refresh(self):
        daemon = self.start_daemon("--refresh.interval=1h")
        before = self.backfill(daemon, 12, "AMD")
        hole = {d for d in before
                if self.d0 - dt.timedelta(days=40) <= d
                < self.d0 - dt.timedelta(days=30)}
        self.assertGreaterEqual(len(hole), 6)
        self.stop_daemon(daemon)
        self.db.execute(
            "DELETE FROM asset_prices WHERE asset_id = 12 AND date = ANY(%s)",
            (list(hole),))
        # The daemon was down: a refresh is due at start, and it fills the
        # hole from the last stored day before it. (A hole before the day a
        # write checked through is the provider's and not asked for again:
        # this one appeared as if after it.)
        self.db.execute("UPDATE backfilld_asset_state"
                        " SET last_refresh_at = now() - interval '2 hours',"
                        " holes_checked_through = NULL")
        daemon = self.start_daemon("--refresh.interval=1h")
        wait_until(lambda: self.dates(12) == before, timeout=30,
                   what="the hole filled")
        request = self.refreshes_of("AMD")[-1]
        self.assertLess(period_day(request, "period1"), min(hole))
        self.assertGreaterEqual(period_day(request, "period1"),
                                min(hole) - dt.timedelta(days=7))
        self.stop_daemon(daemon)

    def test_a_refresh_on_another_basis_rewrites_the_whole_history(self):
        daemon = self.start_daemon("--refresh.interval=1h")
        before = self.backfill(daemon, 12, "AMD")
        served = dict(self.db.rows(
            "SELECT date, close FROM asset_prices WHERE asset_id = 12"))
        self.stop_daemon(daemon)
        # The stored history is on the basis before a 1:2 reverse split.
        self.db.execute("UPDATE asset_prices SET close = close * 2,"
                        " adj_close = adj_close * 2 WHERE asset_id = 12")
        self.db.execute("UPDATE backfilld_asset_state"
                        " SET last_refresh_at = now() - interval '2 hours'")
        daemon = self.start_daemon("--refresh.interval=1h")
        daemon.wait_for(r"Rewrote the history of AMD: the provider's "
                        r"adjustment changed \(close of ", timeout=30)
        wait_until(lambda: dict(self.db.rows(
            "SELECT date, close FROM asset_prices WHERE asset_id = 12"))
            == served, what="the whole history on the new basis")
        # Once: the refresh, then its rewrite from the first stored day.
        refreshes = self.refreshes_of("AMD")
        self.assertEqual(len(refreshes), 2)
        self.assertEqual(period_day(refreshes[1], "period1"),
                         min(before) - dt.timedelta(days=7))
        self.assertEqual(daemon.count(r"Rewrote the history of AMD"), 1)
        self.stop_daemon(daemon)

    def test_a_split_announced_by_a_refresh_rewrites_the_history(self):
        daemon = self.start_daemon(*REFRESH)
        before = self.backfill(daemon, 12, "AMD")
        served = dict(self.db.rows(
            "SELECT date, close::float8 FROM asset_prices WHERE asset_id = 12"))
        # Two trading days later, a 4:1 split yesterday: the refresh's answer
        # announces it and serves every earlier day divided by four.
        split = weekdays_before(self.d3, 1)
        self.yahoo.set_symbol("AMD", events=[{"date": split.isoformat(),
                                              "split": "4:1"}])
        self.yahoo.set_now(evening(self.d3))
        wait_until(lambda: self.aged(
            "Rewrote the history of AMD: the provider's adjustment changed"
            in daemon.output()), timeout=30, what="the rewrite")
        wait_until(lambda: self.db.events(12) == [
            (split, "split", None, 4.0, 1.0, "yahoo")], what="the split")
        rows = dict(self.db.rows(
            "SELECT date, close::float8 FROM asset_prices WHERE asset_id = 12"))
        self.assertEqual(set(rows), before | {
            self.d3, split, weekdays_before(self.d3, 2)})
        for day, close in served.items():
            self.assertAlmostEqual(rows[day], close / 4, delta=0.006,
                                   msg=str(day))
        # Once, from the first stored day.
        self.assertIn(min(before) - dt.timedelta(days=7),
                      [period_day(r, "period1")
                       for r in self.refreshes_of("AMD")])
        self.assertEqual(daemon.count(r"Rewrote the history of AMD"), 1)
        self.assertEqual(self.db.duplicate_prices(), 0)
        self.stop_daemon(daemon)

    def test_a_dividend_announced_by_a_refresh_rewrites_the_history(self):
        # adj_close moves by less than the basis check notices: only the
        # event tells that every older day has a new factor.
        daemon = self.start_daemon(*REFRESH)
        before = self.backfill(daemon, 12, "AMD")
        dividend = weekdays_before(self.d3, 1)
        self.yahoo.set_symbol("AMD", events=[{"date": dividend.isoformat(),
                                              "dividend": 0.24}])
        self.yahoo.set_now(evening(self.d3))
        wait_until(lambda: self.aged(
            "Rewrote the history of AMD: the provider's adjustment changed"
            " (a new dividend of 0.24 on " + dividend.isoformat()
            in daemon.output()), timeout=30, what="the rewrite")
        wait_until(lambda: self.db.events(12) == [
            (dividend, "dividend", 0.24, None, None, "yahoo")],
            what="the dividend")
        # The whole history was asked for again, and stored from its first
        # day on.
        self.assertIn(min(before) - dt.timedelta(days=7),
                      [period_day(r, "period1")
                       for r in self.refreshes_of("AMD")])
        self.assertEqual(min(self.dates(12)), min(before))
        self.assertEqual(daemon.count(r"Rewrote the history of AMD"), 1)
        self.stop_daemon(daemon)

    def test_a_large_refresh_backlog_does_not_delay_a_new_backfill(self):
        daemon = self.start_daemon("--refresh.interval=0s")
        # 2,000 routine refreshes wait, all due; each answer takes a while.
        self.db.execute("""
            INSERT INTO assets (id, symbol)
              SELECT 1000 + i, 'R' || i FROM generate_series(1, 2000) i;
            INSERT INTO backfill_jobs (asset_id, kind, priority)
              SELECT 1000 + i, 'refresh', 1 FROM generate_series(1, 2000) i;
        """)
        self.yahoo.set_global(delay_ms=100)
        wait_until(lambda: self.db.jobs_in("done") >= 4, what="refreshes run")
        self.db.add_asset(12, "AMD")
        self.db.buy(12)
        self.backfilled_records(daemon, "AMD")
        # The new asset went before all but a handful of them.
        self.assertGreater(self.db.scalar(
            "SELECT count(*) FROM backfill_jobs WHERE kind = 'refresh'"
            " AND state = 'pending'"), 1800)
        self.stop_daemon(daemon)

    def test_a_delisted_symbol_is_marked_inactive_and_no_longer_requested(self):
        daemon = self.start_daemon(*REFRESH, "--refresh.delisted-after=1")
        self.backfill(daemon, 12, "AMD")
        self.backfill(daemon, 13, "MSFT")
        history = self.db.price_count(12)
        self.yahoo.set_symbol("AMD", status="unknown")
        wait_until(lambda: self.aged("AMD is marked inactive"
                                     in daemon.output()),
                   timeout=30, what="AMD inactive")
        state = self.db.rows(
            "SELECT inactive_since IS NOT NULL, inactive_reason, last_error"
            " FROM backfilld_asset_state WHERE asset_id = 12")[0]
        self.assertTrue(state[0])
        self.assertIn("no data for 1 days", state[1])
        self.assertIn("symbol_not_found", state[2])
        # Catch-up never revives a refresh: the log says what does.
        self.assertRegex(daemon.output(),
                         r"Refresh of AMD \(asset 12\) failed: .*; the next"
                         r" scheduled refresh tries again")
        self.assertNotRegex(daemon.output(), r"Backfill of AMD .*catch-up")
        asked = len(self.yahoo.requests("AMD"))
        msft = len(self.yahoo.requests("MSFT"))
        wait_until(lambda: self.aged(
            len(self.yahoo.requests("MSFT")) >= msft + 3),
            timeout=30, what="MSFT refreshed on")
        self.assertEqual(len(self.yahoo.requests("AMD")), asked)
        # The history is kept; `backfilld retry` revives the asset.
        self.assertEqual(self.db.price_count(12), history)
        self.yahoo.set_symbol("AMD", status="ok")
        code, out = self.run_cli("retry", "AMD")
        self.assertEqual(code, 0, out)
        self.assertIn("Reactivated AMD", out)
        wait_until(lambda: self.aged(len(self.yahoo.requests("AMD")) > asked),
                   timeout=30, what="AMD requested again")
        wait_until(lambda: self.db.job_done(12, "refresh"), what="refreshed")
        self.stop_daemon(daemon)

    def test_a_symbol_is_inactive_only_after_the_configured_days(self):
        daemon = self.start_daemon(*REFRESH, "--refresh.delisted-after=2")
        self.backfill(daemon, 12, "AMD")
        self.yahoo.set_symbol("AMD", status="unknown")
        # One day of "no data": counted, still active and still asked.
        wait_until(lambda: self.aged(self.db.scalar(
            "SELECT no_data_days FROM backfilld_asset_state"
            " WHERE asset_id = 12") == 1), timeout=30, what="a day counted")
        asked = len(self.yahoo.requests("AMD"))
        wait_until(lambda: self.aged(len(self.yahoo.requests("AMD")) > asked),
                   timeout=30, what="AMD asked again")
        self.assertIsNone(self.db.scalar(
            "SELECT inactive_since FROM backfilld_asset_state"
            " WHERE asset_id = 12"))
        self.assertNotIn("AMD is marked inactive", daemon.output())
        # The run of "no data" began yesterday: today is its second day.
        self.db.execute("UPDATE backfilld_asset_state"
                        " SET no_data_since = current_date - 1"
                        " WHERE asset_id = 12")
        wait_until(lambda: self.aged("AMD is marked inactive"
                                     in daemon.output()),
                   timeout=30, what="AMD inactive")
        self.assertIn("no data for 2 days", self.db.scalar(
            "SELECT inactive_reason FROM backfilld_asset_state"
            " WHERE asset_id = 12"))
        self.stop_daemon(daemon)


if __name__ == "__main__":
    unittest.main()
