#!/usr/bin/env python3
"""Tests for the fake Yahoo chart server (stdlib unittest, < 20 s).

Run: python3 tests/fake_provider/test_fake_yahoo.py [-v]
"""

from __future__ import annotations

import datetime as dt
import gzip
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from fake_yahoo import NOT_FOUND_BODY, FakeYahoo  # noqa: E402

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")
UTC = dt.timezone.utc
ONE_YEAR = "range=1y&interval=1d"


def fetch(url: str, headers: dict | None = None, timeout: float = 5,
          context: ssl.SSLContext | None = None,
          data: bytes | None = None) -> tuple[int, dict, bytes]:
    """(status, headers, raw body) without raising on HTTP errors."""
    req = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=timeout,
                                    context=context) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), err.read()


def read(path: str, mode: str = "r") -> str | bytes:
    with open(path, mode) as f:
        return f.read()


def utc(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, UTC)


def period(start: dt.date, end: dt.date) -> str:
    """period1/period2 query for [start, end) at 00:00 UTC."""
    p1 = int(dt.datetime.combine(start, dt.time(), UTC).timestamp())
    p2 = int(dt.datetime.combine(end, dt.time(), UTC).timestamp())
    return f"period1={p1}&period2={p2}&interval=1d"


class FakeYahooTest(unittest.TestCase):
    """Behaviour of one shared in-process server (reset before each test)."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.fake = FakeYahoo(unknown=["NOSUCH"]).start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.fake.stop()

    def setUp(self) -> None:
        self.fake.reset()

    def chart_url(self, symbol: str, query: str = ONE_YEAR) -> str:
        quoted = urllib.parse.quote(symbol, safe="")
        return f"{self.fake.base_url}/v8/finance/chart/{quoted}?{query}"

    def chart(self, symbol: str, query: str = ONE_YEAR) -> dict:
        status, headers, body = fetch(self.chart_url(symbol, query))
        self.assertEqual(status, 200, body[:200])
        self.assertEqual(headers["Content-Type"],
                         "application/json;charset=utf-8")
        doc = json.loads(body)
        self.assertIsNone(doc["chart"]["error"])
        return doc["chart"]["result"][0]

    def assert_consistent(self, result: dict) -> None:
        q = result["indicators"]["quote"][0]
        adj = result["indicators"]["adjclose"][0]["adjclose"]
        n = len(result["timestamp"])
        for key in ("open", "high", "low", "close", "volume"):
            self.assertEqual(len(q[key]), n, key)
        self.assertEqual(len(adj), n)
        self.assertEqual(result["timestamp"], sorted(result["timestamp"]))
        for i in range(n):
            self.assertLessEqual(q["low"][i], min(q["open"][i], q["close"][i]))
            self.assertGreaterEqual(q["high"][i],
                                    max(q["open"][i], q["close"][i]))
            self.assertLess(adj[i], q["close"][i])
            self.assertIsInstance(q["volume"][i], int)

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

    # -- unknown symbols and faults ----------------------------------------

    def test_unknown_symbol_404_exact_body(self) -> None:
        status, headers, body = fetch(self.chart_url("NOSUCH"))
        self.assertEqual(status, 404)
        self.assertEqual(body, NOT_FOUND_BODY)
        self.assertEqual(body, b'{"chart":{"result":null,"error":{"code":'
                         b'"Not Found","description":"No data found, symbol '
                         b'may be delisted"}}}')
        self.assertEqual(headers["Content-Type"],
                         "application/json;charset=utf-8")
        self.fake.set_symbol("AMD", status="unknown")
        self.assertEqual(fetch(self.chart_url("AMD"))[0], 404)
        self.fake.set_symbol("AMD", status=None)
        self.assertEqual(fetch(self.chart_url("AMD"))[0], 200)

    def test_fault_times(self) -> None:
        self.fake.set_symbol("AMD", fault="http_503", fault_times=2)
        statuses = [fetch(self.chart_url("AMD"))[0] for _ in range(3)]
        self.assertEqual(statuses, [503, 503, 200])
        self.assertEqual([e["status"] for e in self.fake.requests("AMD")],
                         [503, 503, 200])

    def test_global_fault_and_symbol_override(self) -> None:
        self.fake.set_global(fault="http_500")
        self.fake.set_symbol("AAPL", fault="none")
        self.assertEqual(fetch(self.chart_url("AMD"))[0], 500)
        self.assertEqual(fetch(self.chart_url("AAPL"))[0], 200)
        self.fake.set_global(fault=None)
        self.assertEqual(fetch(self.chart_url("AMD"))[0], 200)

    def test_http_429(self) -> None:
        self.fake.set_symbol("AMD", fault="http_429")
        status, headers, body = fetch(self.chart_url("AMD"))
        self.assertEqual((status, body), (429, b"Too Many Requests"))
        self.assertNotIn("Retry-After", headers)
        self.fake.set_symbol("AMD", retry_after=7)
        status, headers, _ = fetch(self.chart_url("AMD"))
        self.assertEqual((status, headers["Retry-After"]), (429, "7"))

    def test_body_faults(self) -> None:
        url = self.chart_url("AMD", "range=1mo&interval=1d")

        def with_fault(fault: str, **opts) -> tuple[int, dict, bytes]:
            self.fake.set_symbol("AMD", fault=fault, **opts)
            return fetch(url)

        status, headers, body = with_fault("html")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        self.assertIn(b"<html", body)

        self.assertEqual(with_fault("not_json")[2], b"Service Unavailable")
        self.assertEqual(with_fault("result_null")[2],
                         b'{"chart":{"result":null,"error":null}}')
        self.assertEqual(with_fault("http_500")[0], 500)

        status, headers, body = with_fault("truncated")
        self.assertEqual(int(headers["Content-Length"]), len(body))
        self.assertTrue(body.startswith(b'{"chart":{"result":[{"meta":'))
        with self.assertRaises(json.JSONDecodeError):
            json.loads(body)

        result = json.loads(with_fault("mismatched_lengths")[2])
        result = result["chart"]["result"][0]
        self.assertEqual(len(result["timestamp"]),
                         len(result["indicators"]["quote"][0]["close"]) + 1)

        result = json.loads(with_fault("nulls")[2])["chart"]["result"][0]
        quote = result["indicators"]["quote"][0]
        self.assertIsNone(quote["close"][4])
        self.assertIsNone(quote["volume"][4])
        self.assertIsNotNone(quote["close"][3])

        body = with_fault("nan_negative")[2]
        self.assertIn(b"NaN", body)
        closes = json.loads(body)["chart"]["result"][0]["indicators"][
            "quote"][0]["close"]   # Python's json accepts NaN
        self.assertTrue(any(c < 0 for c in closes))

        result = json.loads(with_fault("empty")[2])["chart"]["result"][0]
        self.assertNotIn("timestamp", result)
        self.assertIn("meta", result)

        result = json.loads(with_fault("duplicate_last")[2])
        ts = result["chart"]["result"][0]["timestamp"]
        closes = result["chart"]["result"][0]["indicators"]["quote"][0][
            "close"]
        self.assertEqual(dt.datetime.fromtimestamp(ts[-1], NEW_YORK).date(),
                         dt.datetime.fromtimestamp(ts[-2], NEW_YORK).date())
        self.assertGreater(ts[-1], ts[-2])
        self.assertNotEqual(closes[-1], closes[-2])

        status, headers, body = with_fault("huge", huge_bytes=3_000_000)
        self.assertEqual(len(body), 3_000_000)
        self.assertEqual(int(headers["Content-Length"]), 3_000_000)
        self.assertGreater(len(json.loads(body)["chart"]["result"][0][
            "timestamp"]), 200_000)

    def test_delay(self) -> None:
        self.fake.set_symbol("AMD", delay_ms=300)
        start = time.monotonic()
        self.assertEqual(fetch(self.chart_url("AMD"))[0], 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)

    # -- HTTP behaviour ----------------------------------------------------

    def test_gzip(self) -> None:
        url = self.chart_url("AAPL")
        _, plain_headers, plain = fetch(url)
        self.assertNotIn("Content-Encoding", plain_headers)
        status, headers, packed = fetch(url, {"Accept-Encoding": "gzip, br"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Encoding"], "gzip")
        self.assertEqual(int(headers["Content-Length"]), len(packed))
        self.assertEqual(gzip.decompress(packed), plain)
        # Errors are compressed too.
        status, headers, packed = fetch(self.chart_url("NOSUCH"),
                                        {"Accept-Encoding": "gzip"})
        self.assertEqual(status, 404)
        self.assertEqual(gzip.decompress(packed), NOT_FOUND_BODY)

    def test_keep_alive(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.fake.port,
                                          timeout=5)
        try:
            sockets = []
            for symbol in ("AMD", "NOSUCH", "AAPL"):
                conn.request("GET", f"/v8/finance/chart/{symbol}?{ONE_YEAR}")
                resp = conn.getresponse()
                resp.read()
                self.assertFalse(resp.will_close)
                sockets.append(conn.sock)
            # One TCP connection served all three (404 included).
            self.assertEqual(len(set(map(id, sockets))), 1)
        finally:
            conn.close()

    def test_control_api_over_http(self) -> None:
        base = self.fake.base_url
        self.assertEqual(fetch(base + "/_health")[:3:2], (200, b"ok"))
        body = json.dumps({"global": {"delay_ms": 0},
                           "symbols": {"amd": {"fault": "http_503",
                                               "fault_times": 1}}}).encode()
        status, _, state = fetch(base + "/_control", data=body,
                                 headers={"Content-Type": "application/json"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(state)["symbols"]["AMD"]["fault"],
                         "http_503")
        self.assertEqual(fetch(self.chart_url("AMD"))[0], 503)
        self.assertEqual(fetch(self.chart_url("AMD"))[0], 200)
        status, _, log = fetch(base + "/_requests")
        log = json.loads(log)
        self.assertEqual([(e["symbol"], e["status"]) for e in log],
                         [("AMD", 503), ("AMD", 200)])
        self.assertLessEqual(log[0]["t"], log[1]["t"])
        # Null deletes; bad options are refused.
        fetch(base + "/_control", data=b'{"symbols":{"AMD":{"fault":null}}}')
        self.assertEqual(self.fake.state()["symbols"], {"NOSUCH": {
            "status": "unknown"}})
        status, _, _ = fetch(base + "/_control",
                             data=b'{"symbols":{"AMD":{"fault":"oops"}}}')
        self.assertEqual(status, 400)
        self.assertEqual(fetch(base + "/_reset", data=b"")[0], 200)
        self.assertEqual(json.loads(fetch(base + "/_requests")[2]), [])
        # Reset keeps the start-up unknown list.
        self.assertEqual(fetch(self.chart_url("NOSUCH"))[0], 404)

    def test_fake_clock(self) -> None:
        now = dt.datetime(2024, 3, 12, 20, 0, tzinfo=UTC).timestamp()
        self.fake.set_now(now)
        result = self.chart("AAPL", "range=5d&interval=1d")
        days = [dt.datetime.fromtimestamp(t, NEW_YORK).date()
                for t in result["timestamp"]]
        self.assertEqual(days, [dt.date(2024, 3, d) for d in (8, 11, 12)])
        self.assertEqual(result["meta"]["gmtoffset"], -14400)
        self.assertEqual(result["meta"]["timezone"], "EDT")


class HangAndShutdownTest(unittest.TestCase):
    """Stuck clients must block neither other requests nor stop()."""

    def setUp(self) -> None:
        self.fake = FakeYahoo().start()
        self.addCleanup(self.fake.stop)

    def url(self, symbol: str) -> str:
        return f"{self.fake.base_url}/v8/finance/chart/{symbol}?{ONE_YEAR}"

    def start_client(self, symbol: str) -> tuple[threading.Thread, dict]:
        outcome: dict = {}

        def run() -> None:
            try:
                outcome["status"] = fetch(self.url(symbol), timeout=15)[0]
            except Exception as exc:   # noqa: BLE001 - any failure will do
                outcome["error"] = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 5
        while not self.fake.requests(symbol):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        return thread, outcome

    def test_hang_does_not_block_and_stop_is_fast(self) -> None:
        self.fake.set_symbol("HANG", fault="hang")
        thread, outcome = self.start_client("HANG")
        # An idle keep-alive connection must not hold up stop() either.
        idle = http.client.HTTPConnection("127.0.0.1", self.fake.port,
                                          timeout=5)
        idle.request("GET", "/_health")
        idle.getresponse().read()
        start = time.monotonic()
        self.assertEqual(fetch(self.url("AMD"), timeout=3)[0], 200)
        self.assertLess(time.monotonic() - start, 1.0)
        self.assertTrue(thread.is_alive())   # still hung

        start = time.monotonic()
        self.fake.stop()
        self.assertLess(time.monotonic() - start, 2.0)
        thread.join(3)
        self.assertFalse(thread.is_alive())
        self.assertIn("error", outcome)      # connection closed, no reply
        self.assertIsNone(self.fake.requests("HANG")[0]["status"])
        idle.close()

    def test_clearing_the_fault_releases_the_hang(self) -> None:
        self.fake.set_symbol("HANG", fault="hang", fault_times=1)
        thread, outcome = self.start_client("HANG")
        self.assertEqual(fetch(self.url("HANG"), timeout=3)[0], 200)
        self.assertTrue(thread.is_alive())
        self.fake.set_symbol("HANG", fault=None)
        thread.join(3)
        self.assertFalse(thread.is_alive())
        self.assertIn("error", outcome)

    def test_reset_releases_the_hang(self) -> None:
        self.fake.set_global(fault="hang")
        thread, outcome = self.start_client("ANY")
        status, _, _ = fetch(self.fake.base_url + "/_reset", data=b"")
        self.assertEqual(status, 200)
        thread.join(3)
        self.assertFalse(thread.is_alive())
        self.assertIn("error", outcome)
        self.assertEqual(fetch(self.url("ANY"), timeout=3)[0], 200)

    def test_slow_loris(self) -> None:
        self.fake.set_symbol("SLOW", fault="slow_loris")
        with urllib.request.urlopen(self.url("SLOW"), timeout=5) as resp:
            self.assertGreater(int(resp.headers["Content-Length"]), 10**6)
            start = time.monotonic()
            self.assertEqual(resp.read(1), b"{")
            self.assertEqual(resp.read(1), b'"')
            self.assertGreater(time.monotonic() - start, 0.5)
            start = time.monotonic()
            self.fake.stop()
            self.assertLess(time.monotonic() - start, 2.0)


@unittest.skipIf(shutil.which("openssl") is None, "openssl not installed")
class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory()
        subprocess.run(["bash", os.path.join(HERE, "make_test_ca.sh"),
                        cls.tmp.name], check=True)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def test_tls_with_and_without_test_ca(self) -> None:
        d = self.tmp.name
        with FakeYahoo(tls_cert=os.path.join(d, "server.pem"),
                       tls_key=os.path.join(d, "server.key")) as fake:
            self.assertTrue(fake.base_url.startswith("https://127.0.0.1:"))
            trusted = ssl.create_default_context(
                cafile=os.path.join(d, "ca.pem"))
            path = f"/v8/finance/chart/AMD?{ONE_YEAR}"
            for host in ("127.0.0.1", "localhost"):   # IP and DNS SANs
                status, _, body = fetch(f"https://{host}:{fake.port}{path}",
                                        context=trusted)
                self.assertEqual(status, 200)
                self.assertIn(b'"symbol":"AMD"', body)
            with self.assertRaises(urllib.error.URLError) as caught:
                fetch(fake.base_url + path,
                      context=ssl.create_default_context())
            self.assertIsInstance(caught.exception.reason,
                                  ssl.SSLCertVerificationError)
            # A plain-HTTP client must not wedge the server.
            with self.assertRaises((http.client.HTTPException, OSError)):
                fetch(f"http://127.0.0.1:{fake.port}/_health", timeout=2)
            self.assertEqual(fetch(fake.base_url + "/_health",
                                   context=trusted)[0], 200)

    def test_script_is_idempotent(self) -> None:
        pem = os.path.join(self.tmp.name, "server.pem")
        before = read(pem, "rb")
        subprocess.run(["bash", os.path.join(HERE, "make_test_ca.sh"),
                        self.tmp.name], check=True)
        self.assertEqual(read(pem, "rb"), before)


class CliTest(unittest.TestCase):
    def test_port_file_unknown_and_sigterm(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            port_file = os.path.join(tmp, "port")
            proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "fake_yahoo.py"),
                 "--port", "0", "--port-file", port_file,
                 "--unknown", "ZZZZ,YYYY", "--quiet"],
                stdout=subprocess.PIPE, text=True)
            try:
                line = proc.stdout.readline()
                port = int(read(port_file))
                self.assertEqual(
                    line, f"fake-yahoo listening on http://127.0.0.1:{port}\n")
                base = f"http://127.0.0.1:{port}/v8/finance/chart/"
                self.assertEqual(fetch(base + "YYYY?" + ONE_YEAR)[0], 404)
                self.assertEqual(fetch(base + "AMD?" + ONE_YEAR)[0], 200)
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(timeout=5), 0)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                proc.stdout.close()


if __name__ == "__main__":
    unittest.main()
