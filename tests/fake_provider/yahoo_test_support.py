"""Shared pieces of the fake Yahoo's tests: HTTP helpers and one fixture.

Not a test module itself (the test_fake_yahoo_*.py modules import it):
``fetch`` and friends, the zones and query the tests share, and
``SharedServerTest``, a base class with one in-process server per class.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import ssl
import sys
import unittest
import urllib.error
import urllib.parse
import urllib.request
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from fake_yahoo import FakeYahoo  # noqa: E402

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


class SharedServerTest(unittest.TestCase):
    """One in-process server per test class (reset before each test)."""

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
