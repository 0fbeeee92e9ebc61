#!/usr/bin/env python3
"""Tests for the fake Yahoo's chart content: market profiles, days, windows.

Run: python3 tests/fake_provider/test_fake_yahoo_bars.py [-v]
"""

from __future__ import annotations

import datetime as dt
import json
import time
import unittest
from zoneinfo import ZoneInfo

from yahoo_test_support import (LONDON, NEW_YORK, SYDNEY, UTC,
                                SharedServerTest, fetch, period, utc)


class MarketProfileTest(SharedServerTest):
    """Bars and meta per market, and which bars a window holds."""

    # -- market profiles ---------------------------------------------------

    def test_amd_1y_weekdays_at_new_york_open(self) -> None:
        result = self.chart("AMD")
        meta = result["meta"]
        ts = result["timestamp"]
        # ~261 weekdays a year (no holiday calendar).
        self.assertTrue(255 <= len(ts) <= 263, len(ts))
        self.assertTrue(ts[-1] <= time.time())
        hours = set()
        for t in ts:
            local = dt.datetime.fromtimestamp(t, NEW_YORK)
            self.assertEqual((local.hour, local.minute), (9, 30))
            self.assertLess(local.weekday(), 5)
            u = utc(t)
            hours.add((u.hour, u.minute))
            want = (14, 30) if local.utcoffset() == dt.timedelta(hours=-5) \
                else (13, 30)
            self.assertEqual((u.hour, u.minute), want)
        self.assertEqual(hours, {(14, 30), (13, 30)})   # winter and summer
        self.assert_consistent(result)
        self.assertEqual(meta["symbol"], "AMD")
        self.assertEqual(meta["currency"], "USD")
        self.assertEqual(meta["instrumentType"], "EQUITY")
        self.assertEqual(meta["exchangeTimezoneName"], "America/New_York")
        self.assertEqual(meta["dataGranularity"], "1d")
        self.assertEqual(meta["range"], "1y")
        self.assertIn("1y", meta["validRanges"])
        offset = dt.datetime.now(NEW_YORK).utcoffset().total_seconds()
        self.assertEqual(meta["gmtoffset"], offset)
        self.assertIn(meta["timezone"], ("EST", "EDT"))
        for key in ("exchangeName", "fullExchangeName", "firstTradeDate",
                    "regularMarketTime", "regularMarketPrice",
                    "chartPreviousClose", "priceHint"):
            self.assertIn(key, meta)

    def test_btc_usd_every_calendar_day_at_utc_midnight(self) -> None:
        result = self.chart("BTC-USD")
        ts = result["timestamp"]
        self.assertTrue(364 <= len(ts) <= 367, len(ts))
        for a, b in zip(ts, ts[1:]):
            self.assertEqual(b - a, 86400)
        self.assertTrue(all(t % 86400 == 0 for t in ts))
        self.assertEqual(result["meta"]["instrumentType"], "CRYPTOCURRENCY")
        self.assertEqual(result["meta"]["exchangeTimezoneName"], "UTC")

    def test_eurusd_summer_bars_at_23_utc_previous_day(self) -> None:
        result = self.chart("EURUSD=X",
                            period(dt.date(2024, 7, 1), dt.date(2024, 7, 8)))
        meta = result["meta"]
        self.assertEqual(meta["currency"], "USD")
        self.assertEqual(meta["instrumentType"], "CURRENCY")
        self.assertEqual(meta["exchangeTimezoneName"], "Europe/London")
        self.assertEqual(meta["range"], "")
        ts = result["timestamp"]
        # Local 2 Jul .. 8 Jul (1 Jul's bar is 30 Jun 23:00 UTC: excluded).
        local_days = [dt.datetime.fromtimestamp(t, LONDON).date() for t in ts]
        self.assertEqual(local_days, [dt.date(2024, 7, d)
                                      for d in (2, 3, 4, 5, 8)])
        for t, day in zip(ts, local_days):
            self.assertEqual(utc(t).hour, 23)
            self.assertEqual(utc(t).date(), day - dt.timedelta(days=1))
        self.assertEqual(set(result["indicators"]["quote"][0]["volume"]), {0})
        # Winter bars are at 00:00 UTC on the same date.
        winter = self.chart("EURUSD=X",
                            period(dt.date(2024, 1, 8), dt.date(2024, 1, 10)))
        self.assertEqual([utc(t).hour for t in winter["timestamp"]], [0, 0])

    def test_bhp_ax_bars_fall_on_previous_utc_day(self) -> None:
        # January: AEDT (UTC+11), 10:00 local = 23:00 UTC the day before.
        result = self.chart("BHP.AX",
                            period(dt.date(2024, 1, 8), dt.date(2024, 1, 13)))
        meta = result["meta"]
        self.assertEqual(meta["currency"], "AUD")
        self.assertEqual(meta["exchangeTimezoneName"], "Australia/Sydney")
        ts = result["timestamp"]
        # Local 9..12 Jan; 8 Jan's bar is 7 Jan 23:00 UTC, before period1.
        self.assertEqual(
            [dt.datetime.fromtimestamp(t, SYDNEY).date() for t in ts],
            [dt.date(2024, 1, d) for d in (9, 10, 11, 12)])
        for t in ts:
            local = dt.datetime.fromtimestamp(t, SYDNEY)
            self.assertEqual((local.hour, local.minute), (10, 0))
            self.assertEqual(utc(t).date(),
                             local.date() - dt.timedelta(days=1))

    def test_other_exchanges(self) -> None:
        cases = {
            "VOD.L": ("GBp", "Europe/London", (8, 0)),
            "7203.T": ("JPY", "Asia/Tokyo", (9, 0)),
            "ENI.MI": ("EUR", "Europe/Rome", (9, 0)),
            "^GSPC": ("USD", "America/New_York", (9, 30)),
            "BRK-B": ("USD", "America/New_York", (9, 30)),
        }
        for symbol, (currency, zone, hm) in cases.items():
            with self.subTest(symbol=symbol):
                result = self.chart(symbol, "range=1mo&interval=1d")
                self.assertEqual(result["meta"]["symbol"], symbol)
                self.assertEqual(result["meta"]["currency"], currency)
                self.assertEqual(result["meta"]["exchangeTimezoneName"], zone)
                for t in result["timestamp"]:
                    local = dt.datetime.fromtimestamp(t, ZoneInfo(zone))
                    self.assertEqual((local.hour, local.minute), hm)
                self.assert_consistent(result)
        self.assertEqual(self.chart("^GSPC")["meta"]["instrumentType"],
                         "INDEX")
        closes = self.chart("VOD.L")["indicators"]["quote"][0]["close"]
        self.assertTrue(all(100 <= c <= 10000 for c in closes))   # pence

    def test_encoded_symbol_is_decoded_and_logged(self) -> None:
        self.chart("^GSPC", "range=5d&interval=1d")
        [entry] = self.fake.requests()
        self.assertEqual(entry["symbol"], "^GSPC")
        self.assertEqual(entry["path"], "/v8/finance/chart/%5EGSPC")
        self.assertEqual(entry["query"], {"range": "5d", "interval": "1d"})
        self.assertEqual(entry["status"], 200)

    def test_same_bar_for_range_and_period(self) -> None:
        ranged = self.chart("AMD")
        i = len(ranged["timestamp"]) // 2
        t = ranged["timestamp"][i]
        window = self.chart("AMD", f"period1={t - 86400}&period2={t + 1}"
                            "&interval=1d&events=div%7Csplit"
                            "&includeAdjustedClose=true")
        self.assertEqual(window["timestamp"][-1], t)
        for key in ("open", "high", "low", "close", "volume"):
            self.assertEqual(window["indicators"]["quote"][0][key][-1],
                             ranged["indicators"]["quote"][0][key][i], key)
        # And across ranges of different length.
        longer = self.chart("AMD", "range=2y&interval=1d")
        j = longer["timestamp"].index(t)
        self.assertEqual(longer["indicators"]["quote"][0]["close"][j],
                         ranged["indicators"]["quote"][0]["close"][i])

    def test_period_window_is_half_open(self) -> None:
        day = dt.date(2024, 3, 11)    # Monday, 13:30 UTC (EDT)
        t = int(dt.datetime(2024, 3, 11, 13, 30, tzinfo=UTC).timestamp())
        result = self.chart("AAPL", f"period1={t}&period2={t + 86400}")
        self.assertEqual(result["timestamp"], [t])
        result = self.chart("AAPL", f"period1={t - 86400}&period2={t}")
        self.assertNotIn(t, result.get("timestamp", []))
        self.assertEqual(dt.datetime.fromtimestamp(t, NEW_YORK).date(), day)

    def test_listed_date(self) -> None:
        self.fake.set_symbol("NEWCO", listed="2024-03-06")
        result = self.chart("NEWCO", period(dt.date(2024, 3, 1),
                                            dt.date(2024, 3, 9)))
        days = [dt.datetime.fromtimestamp(t, NEW_YORK).date()
                for t in result["timestamp"]]
        self.assertEqual(days, [dt.date(2024, 3, d) for d in (6, 7, 8)])
        self.assertEqual(result["meta"]["firstTradeDate"],
                         result["timestamp"][0])

    def test_no_trading_in_window_gives_empty_shape(self) -> None:
        # A weekend: meta, no timestamp key, empty quote.
        result = self.chart("AAPL", period(dt.date(2024, 3, 9),
                                           dt.date(2024, 3, 11)))
        self.assertNotIn("timestamp", result)
        self.assertEqual(result["indicators"], {"quote": [{}],
                                                "adjclose": [{}]})

    def test_bad_interval_is_400(self) -> None:
        status, _, body = fetch(self.chart_url("AMD", "range=1y&interval=1h"))
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["chart"]["error"]["code"],
                         "Bad Request")


class CorporateActionsTest(SharedServerTest):
    """events and spikes: what Yahoo serves around splits and bad prints."""

    def test_a_split_adjusts_earlier_bars_and_events_come_in_the_window(
            self) -> None:
        before = self.chart("AMD", "range=1mo&interval=1d")
        ts = before["timestamp"]
        closes = before["indicators"]["quote"][0]["close"]
        split_day = utc(ts[10]).date()
        dividend_day = utc(ts[3]).date()
        self.fake.set_symbol("AMD", events=[
            {"date": split_day.isoformat(), "split": "10:1"},
            {"date": dividend_day.isoformat(), "dividend": 0.5}])
        after = self.chart("AMD", "range=1mo&interval=1d")
        new = after["indicators"]["quote"][0]["close"]
        for i in range(len(ts)):
            want = closes[i] / 10 if i < 10 else closes[i]
            self.assertAlmostEqual(new[i], want, delta=0.006)
        self.assert_consistent(after)
        self.assertEqual(after["events"]["splits"], {str(ts[10]): {
            "date": ts[10], "numerator": 10.0, "denominator": 1.0,
            "splitRatio": "10:1"}})
        self.assertEqual(after["events"]["dividends"],
                         {str(ts[3]): {"amount": 0.5, "date": ts[3]}})
        # A window that does not hold them has no events, yet the bars
        # before the split stay on its basis.
        early = self.chart("AMD", period(utc(ts[0]).date(),
                                         utc(ts[2]).date()))
        self.assertNotIn("events", early)
        self.assertAlmostEqual(early["indicators"]["quote"][0]["close"][0],
                               closes[0] / 10, delta=0.006)

    def test_a_split_in_the_future_changes_nothing(self) -> None:
        before = self.chart("AMD")
        later = (dt.date.today() + dt.timedelta(days=30)).isoformat()
        self.fake.set_symbol("AMD", events=[{"date": later, "split": "2:1"}])
        after = self.chart("AMD")
        self.assertEqual(after["indicators"], before["indicators"])
        self.assertNotIn("events", after)

    def test_a_spike_replaces_one_close(self) -> None:
        before = self.chart("AMD", "range=1mo&interval=1d")
        ts = before["timestamp"]
        day = utc(ts[5]).date().isoformat()
        self.fake.set_symbol("AMD", spikes=[{"date": day, "close": 0.24}])
        after = self.chart("AMD", "range=1mo&interval=1d")
        closes = after["indicators"]["quote"][0]["close"]
        self.assertEqual(closes[5], 0.24)
        self.assertEqual(closes[:5] + closes[6:],
                         (before["indicators"]["quote"][0]["close"][:5]
                          + before["indicators"]["quote"][0]["close"][6:]))
        quote = after["indicators"]["quote"][0]
        self.assertLessEqual(quote["low"][5], 0.24)

    def test_malformed_options_are_refused(self) -> None:
        for opts in ({"events": {}}, {"events": [{"date": "x", "split": "2:1"}]},
                     {"events": [{"date": "2024-01-02"}]},
                     {"spikes": [{"date": "2024-01-02"}]},
                     {"spikes": [{"date": "2024-01-02", "split": "2:1"}]}):
            with self.assertRaises(ValueError, msg=str(opts)):
                self.fake.set_symbol("AMD", **opts)


if __name__ == "__main__":
    unittest.main()
