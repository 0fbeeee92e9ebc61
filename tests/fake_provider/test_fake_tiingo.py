#!/usr/bin/env python3
"""Tests for the fake Tiingo server (stdlib unittest, a few seconds).

Run: python3 tests/fake_provider/test_fake_tiingo.py [-v]
"""

from __future__ import annotations

import json
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_tiingo import FakeTiingo, not_found_body  # noqa: E402
from fake_test_support import (FakeServerTest, fixture,  # noqa: E402
                               matches_fixture, run_script)

#: 2024-06-14 12:00 UTC, a Friday.
NOW = 1718366400
KEY = {"Authorization": "Token right-key"}


def prices(ticker: str, start: str, end: str | None = None) -> str:
    path = f"/tiingo/daily/{ticker}/prices?startDate={start}"
    return path + (f"&endDate={end}" if end else "")


class FakeTiingoTest(FakeServerTest):
    now = NOW
    default_headers = KEY

    @classmethod
    def make_fake(cls) -> FakeTiingo:
        return FakeTiingo(api_key="right-key")

    def rows(self, path: str) -> list:
        return self.json_answer(path)

    def test_rows_in_the_documented_shape(self) -> None:
        rows = self.rows(prices("AAPL", "2024-02-05", "2024-02-12"))
        real = fixture("tiingo", "aapl.json")
        for row in rows:
            self.assertEqual(list(row), list(real[0]))
        self.assertEqual([r["date"] for r in rows], [
            "2024-02-05T00:00:00.000Z", "2024-02-06T00:00:00.000Z",
            "2024-02-07T00:00:00.000Z", "2024-02-08T00:00:00.000Z",
            "2024-02-09T00:00:00.000Z", "2024-02-12T00:00:00.000Z"])
        for r in rows:
            self.assertLessEqual(r["low"], min(r["open"], r["close"]))
            self.assertGreaterEqual(r["high"], max(r["open"], r["close"]))
            self.assertIsInstance(r["volume"], int)

    def test_lenient_dates_lower_case_and_latest(self) -> None:
        rows = self.rows("/tiingo/daily/aapl/prices?startDate=2024-6-3"
                         "&endDate=2024-6-4")
        self.assertEqual(len(rows), 2)
        self.assertEqual(self.fake.requests("AAPL")[0]["symbol"], "AAPL")
        latest = self.rows("/tiingo/daily/AAPL/prices")
        self.assertEqual([r["date"][:10] for r in latest], ["2024-06-14"])

    def test_weekend_is_an_empty_array(self) -> None:
        self.assertEqual(self.rows(prices("AAPL", "2024-06-08",
                                          "2024-06-09")), [])

    def test_split_day_and_adjusted_prices(self) -> None:
        rows = self.rows(prices("NVDA", "2024-06-06", "2024-06-11"))
        by_day = {r["date"][:10]: r for r in rows}
        self.assertEqual(by_day["2024-06-10"]["splitFactor"], 10.0)
        self.assertEqual(by_day["2024-06-07"]["splitFactor"], 1.0)
        # Raw prices drop tenfold, adjusted ones run on.
        before, after = by_day["2024-06-07"], by_day["2024-06-10"]
        self.assertGreater(before["close"] / after["close"], 8)
        self.assertLess(before["adjClose"] / after["adjClose"], 1.25)
        self.assertEqual(before["adjVolume"], before["volume"] * 10)

    def test_dividends_and_a_day_is_the_same_in_any_window(self) -> None:
        year = self.rows(prices("MSFT", "2023-06-14", "2024-06-14"))
        paid = [r for r in year if r["divCash"] > 0]
        self.assertIn(len(paid), (3, 4, 5))
        first = year[0]
        self.assertLess(first["adjClose"], first["close"])
        again = self.rows(prices("MSFT", first["date"][:10],
                                 first["date"][:10]))
        self.assertEqual(again, [first])

    def test_key_is_required_and_recorded(self) -> None:
        path = prices("AAPL", "2024-06-03", "2024-06-04")
        status, _, body = self.get(path, headers={})
        self.assertEqual(status, 401)
        self.assertIn("detail", json.loads(body))
        status, _, _ = self.get(path, {"Authorization": "Token wrong"})
        self.assertEqual(status, 401)
        self.assertEqual(self.get(path)[0], 200)
        self.assertEqual([e["headers"]["authorization"]
                          for e in self.fake.requests("AAPL")],
                         [None, "Token wrong", "Token right-key"])
        self.assertNotIn("token", self.fake.requests("AAPL")[2]["query"])

    def test_unknown_ticker(self) -> None:
        self.fake.set_symbol("NOPE", status="unknown")
        status, _, body = self.get(prices("NOPE", "2024-06-03"))
        self.assertEqual((status, body), (404, not_found_body("NOPE")))
        self.assertEqual(json.loads(body),
                         fixture("tiingo", "not_found.json"))

    def test_throttling_and_faults(self) -> None:
        path = prices("AAPL", "2024-05-01", "2024-06-14")
        self.fake.set_symbol("AAPL", fault="http_429", fault_times=1,
                             retry_after=3600)
        status, headers, _ = self.get(path)
        self.assertEqual((status, headers.get("Retry-After")),
                         (429, "3600"))
        self.fake.set_symbol("AAPL", fault="html", fault_times=None)
        status, headers, body = self.get(path)
        self.assertEqual(status, 200)
        self.assertIn("text/html", headers["Content-Type"])
        self.fake.set_symbol("AAPL", fault="nan_negative")
        closes = [r["close"] for r in self.rows(path)]
        self.assertTrue(any(math.isnan(c) for c in closes))
        self.assertTrue(any(c < 0 for c in closes))
        self.fake.set_symbol("AAPL", fault="empty")
        self.assertEqual(self.rows(path), [])
        self.fake.set_symbol("AAPL", fault=None, listed="2024-06-13")
        self.assertEqual(len(self.rows(path)), 2)

    def test_answer_is_the_parser_fixture(self) -> None:
        status, _, body = self.get(prices("NVDA", "2024-05-01",
                                          "2024-06-14"))
        self.assertEqual(status, 200)
        matches_fixture(self, "tiingo", "from_fake.json", body)

    def test_script(self) -> None:
        run_script(self, "fake_tiingo.py", "--api-key", "k")


if __name__ == "__main__":
    unittest.main()
