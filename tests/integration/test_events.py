"""Dividends, splits and bad prints with the real daemon: the events the
provider announces are stored in asset_events, a split since the stored
history was fetched rewrites it on the new basis, and a bad print is held
back in price_outliers while the rest of the series is stored."""

import datetime as dt
import unittest

from harness import PipelineTest, wait_until

from yahoo_calendar import instrument  # noqa: E402 (the harness's path)


def weekday_before(days):
    """The weekday `days` (or a little more) before today."""
    day = dt.date.today() - dt.timedelta(days=days)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


class Events(PipelineTest):

    def test_dividends_and_splits_are_stored_with_their_source(self):
        dividend = weekday_before(90)
        split = weekday_before(40)
        self.yahoo.set_symbol("EVNT", events=[
            {"date": dividend.isoformat(), "dividend": 0.24},
            {"date": split.isoformat(), "split": "4:1"}])
        daemon = self.start_daemon()
        self.db.add_asset(1, "EVNT")
        self.db.buy(1)
        wait_until(lambda: self.db.job_done(1), what="EVNT backfilled")
        self.assertEqual(self.db.events(1), [
            (dividend, "dividend", 0.24, None, None, "yahoo"),
            (split, "split", None, 4.0, 1.0, "yahoo")])
        self.assertTrue(self.db.scalar(
            "SELECT bool_and(fetched_at IS NOT NULL) FROM asset_events"))
        # Prices are stored as served: before the split on its new basis.
        before = weekday_before(60)
        close = self.db.scalar(
            "SELECT close::float8 FROM asset_prices WHERE asset_id = 1"
            " AND date = %s", (before,))
        self.assertAlmostEqual(close, instrument("EVNT").bar(before).close / 4,
                               delta=0.006)
        self.stop_daemon(daemon)
        # A replay (the whole history fetched again) changes nothing and
        # doubles nothing.
        stored = self.db.events(1)
        fetched = self.db.rows("SELECT kind, fetched_at FROM asset_events"
                               " ORDER BY kind")
        code, out = self.run_cli("backfill",
                                 f"--yahoo.base-url={self.yahoo.base_url}",
                                 "EVNT")
        self.assertEqual(code, 0, out)
        self.assertIn("Backfilled EVNT", out)
        self.assertEqual(self.db.events(1), stored)
        # Unchanged values are not rewritten: fetched_at stays.
        self.assertEqual(self.db.rows("SELECT kind, fetched_at FROM"
                                      " asset_events ORDER BY kind"), fetched)

    def test_a_new_split_rewrites_the_stored_history_on_its_basis(self):
        daemon = self.start_daemon()
        self.db.add_asset(1, "SPLT")
        self.db.buy(1)
        wait_until(lambda: self.db.job_done(1), what="SPLT backfilled")
        old = dict(self.db.rows(
            "SELECT date, close::float8 FROM asset_prices WHERE asset_id = 1"))
        self.assertEqual(self.db.events(1), [])
        # NFLX-style: 10 for 1, a week ago. From now on the provider serves
        # every earlier day divided by ten and announces the split.
        split = weekday_before(7)
        self.yahoo.set_symbol("SPLT",
                              events=[{"date": split.isoformat(),
                                       "split": "10:1"}])
        # Something makes the daemon fetch again: a transaction older than
        # the stored history asks for an extension.
        self.db.buy(1, portfolio=2, when="now() - interval '500 days'")
        wait_until(lambda: self.db.job_done(1, "extend"), what="extended")
        daemon.wait_for(r"Rewrote the history of SPLT: the provider's"
                        r" adjustment changed")
        self.assertEqual(self.db.events(1),
                         [(split, "split", None, 10.0, 1.0, "yahoo")])
        rows = dict(self.db.rows(
            "SELECT date, close::float8 FROM asset_prices WHERE asset_id = 1"))
        for day, close in old.items():
            want = close / 10 if day < split else close
            self.assertAlmostEqual(rows[day], want, delta=0.006, msg=str(day))
        # One transaction: every day before the split carries its time.
        self.assertEqual(self.db.scalar(
            "SELECT count(DISTINCT fetched_at) FROM asset_prices"
            " WHERE asset_id = 1 AND date < %s", (split,)), 1)
        self.assertEqual(daemon.count(r"Rewrote the history of SPLT"), 1)
        self.assertEqual(self.db.duplicate_prices(), 0)
        self.stop_daemon(daemon)


class BadPrints(PipelineTest):

    def test_a_spike_is_held_back_and_the_rest_stored(self):
        day = weekday_before(30)
        self.yahoo.set_symbol("SPIK", spikes=[{"date": day.isoformat(),
                                               "close": 0.24}])
        daemon = self.start_daemon()
        self.db.add_asset(1, "SPIK")
        self.db.buy(1)
        records = self.backfilled_records(daemon, "SPIK")
        wait_until(lambda: self.db.job_done(1), what="SPIK backfilled")
        self.assertEqual(self.db.price_count(1), records)
        self.assertGreater(records, 240)
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM asset_prices WHERE asset_id = 1"
            " AND date = %s", (day,)), 0)
        held = self.db.outliers(1)
        self.assertEqual(len(held), 1)
        self.assertEqual(held[0][:3], (day, 0.24, "spike"))
        self.assertRegex(held[0][3], r"^close 0\.24 between \S+ on "
                                     r"\d{4}-\d\d-\d\d and \S+ on ")
        daemon.wait_for(rf"Held back the {day} close of SPIK as a bad print"
                        r" \(spike\): close 0\.24 between")
        daemon.wait_for(r"outliers_held=1\b")
        # What the fake served shows in status.
        code, out = self.run_cli("status", "SPIK")
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"(?m)^SPIK .*held back 1")
        self.stop_daemon(daemon)

    def test_a_day_in_pounds_on_a_pence_quote_is_held_back(self):
        day = weekday_before(20)
        inst = instrument("BARC.L")
        self.yahoo.set_symbol("BARC.L", spikes=[
            {"date": day.isoformat(),
             "close": round(inst.bar(day).close / 100, 4)}])
        daemon = self.start_daemon()
        self.db.add_asset(1, "BARC.L", currency="GBP")
        self.db.buy(1)
        wait_until(lambda: self.db.job_done(1), what="BARC.L backfilled")
        held = self.db.outliers(1)
        self.assertEqual([(d, reason) for d, _, reason, _ in held],
                         [(day, "minor_unit")])
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM asset_prices WHERE asset_id = 1"
            " AND date = %s", (day,)), 0)
        self.stop_daemon(daemon)

    def test_with_the_check_off_the_spike_is_stored(self):
        day = weekday_before(30)
        self.yahoo.set_symbol("SPIK", spikes=[{"date": day.isoformat(),
                                               "close": 0.24}])
        daemon = self.start_daemon("--outliers.enabled=false")
        self.db.add_asset(1, "SPIK")
        self.db.buy(1)
        wait_until(lambda: self.db.job_done(1), what="SPIK backfilled")
        self.assertEqual(self.db.scalar(
            "SELECT close::float8 FROM asset_prices WHERE asset_id = 1"
            " AND date = %s", (day,)), 0.24)
        self.assertEqual(self.db.outliers(1), [])
        self.stop_daemon(daemon)


if __name__ == "__main__":
    unittest.main()
