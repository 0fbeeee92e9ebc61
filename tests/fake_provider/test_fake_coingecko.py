#!/usr/bin/env python3
"""Tests for the fake CoinGecko server (stdlib unittest, a few seconds).

Run: python3 tests/fake_provider/test_fake_coingecko.py [-v]
"""

from __future__ import annotations

import json
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_coingecko import (NOT_FOUND_BODY, RATE_LIMITED_BODY,  # noqa: E402
                            FakeCoinGecko)
from fake_test_support import (FakeServerTest, fixture, loads,  # noqa: E402
                               matches_fixture, run_script)

#: 2024-03-14 15:43 UTC.
NOW = 1710430980
DAY = 86400


def chart(coin: str, start: int, end: int, vs: str = "usd") -> str:
    return (f"/api/v3/coins/{coin}/market_chart/range?vs_currency={vs}"
            f"&from={start}&to={end}")


class FakeCoinGeckoTest(FakeServerTest):
    now = NOW

    @classmethod
    def make_fake(cls) -> FakeCoinGecko:
        return FakeCoinGecko(demo_key="good-key")

    def body(self, path: str, headers: dict | None = None) -> dict:
        return self.json_answer(path, headers)

    def test_over_90_days_daily_snapshots_then_the_live_price(self) -> None:
        doc = self.body(chart("bitcoin", NOW - 100 * DAY, NOW))
        self.assertEqual(list(doc),
                         list(fixture("coingecko", "btc_daily.json")))
        times = [t for t, _ in doc["prices"]]
        self.assertTrue(all(t % (DAY * 1000) == 0 for t in times[:-1]))
        self.assertEqual(times[-1] // 1000, NOW)
        self.assertEqual(len(times), 101)
        for name in ("market_caps", "total_volumes"):
            self.assertEqual([t for t, _ in doc[name]], times)
        self.assertTrue(all(p > 0 for _, p in doc["prices"]))

    def test_90_days_or_less_hourly_points(self) -> None:
        end = NOW - 3 * DAY
        doc = self.body(chart("ethereum", end - 2 * DAY, end))
        times = [t // 1000 for t, _ in doc["prices"]]
        self.assertEqual(len(times), 48)
        for t in times:
            self.assertTrue(1 <= t % 3600 <= 9, t)   # just after the hour
        # No live point: the window ends in the past.
        self.assertLess(times[-1], end)

    def test_a_snapshot_has_one_price_whatever_the_window(self) -> None:
        midnight = (NOW // DAY - 10) * DAY
        a = dict(self.body(chart("bitcoin", NOW - 120 * DAY, NOW))["prices"])
        b = dict(self.body(chart("bitcoin", NOW - 200 * DAY,
                                 NOW - 5 * DAY))["prices"])
        self.assertEqual(a[midnight * 1000], b[midnight * 1000])

    def test_other_quote_currency(self) -> None:
        usd = self.body(chart("bitcoin", NOW - 100 * DAY, NOW))["prices"]
        eur = self.body(chart("bitcoin", NOW - 100 * DAY, NOW,
                              "eur"))["prices"]
        self.assertAlmostEqual(eur[0][1] / usd[0][1], 0.92)
        status, _, _ = self.get(chart("bitcoin", NOW - DAY, NOW, "xyz"))
        self.assertEqual(status, 400)

    def test_history_beyond_365_days_is_refused(self) -> None:
        status, _, body = self.get(chart("bitcoin", NOW - 366 * DAY, NOW))
        self.assertEqual(status, 401)
        doc = json.loads(body)
        real = fixture("coingecko", "range_limit.json")
        self.assertEqual(doc["error"]["status"]["error_code"], 10012)
        self.assertEqual(doc["error"]["status"]["error_message"],
                         real["error"]["status"]["error_message"])
        self.assertEqual(self.get(chart("bitcoin", NOW - 364 * DAY,
                                        NOW))[0], 200)

    def test_unknown_coin(self) -> None:
        self.fake.set_symbol("nosuchcoin", status="unknown")
        status, _, body = self.get(chart("nosuchcoin", NOW - DAY, NOW))
        self.assertEqual((status, body), (404, NOT_FOUND_BODY))
        self.assertEqual(json.loads(body),
                         fixture("coingecko", "not_found.json"))
        self.assertEqual(self.fake.requests("NoSuchCoin")[0]["status"], 404)

    def test_demo_key_is_optional_recorded_and_checked(self) -> None:
        path = chart("bitcoin", NOW - DAY, NOW)
        self.assertEqual(self.get(path)[0], 200)
        self.assertEqual(self.get(path, {"x-cg-demo-api-key":
                                         "good-key"})[0], 200)
        self.assertEqual(self.get(path, {"x-cg-demo-api-key":
                                         "bad-key"})[0], 401)
        keys = [e["headers"]["x-cg-demo-api-key"]
                for e in self.fake.requests("bitcoin")]
        self.assertEqual(keys, [None, "good-key", "bad-key"])

    def test_throttling_as_the_public_api_does(self) -> None:
        self.fake.set_global(fault="http_429", retry_after=60)
        status, headers, body = self.get(chart("bitcoin", NOW - DAY, NOW))
        self.assertEqual((status, headers.get("Retry-After")), (429, "60"))
        self.assertEqual(body, RATE_LIMITED_BODY)
        self.assertEqual(json.loads(body),
                         fixture("coingecko", "rate_limited.json"))

    def test_body_faults(self) -> None:
        path = chart("bitcoin", NOW - 100 * DAY, NOW)
        self.fake.set_global(fault="html")
        status, headers, body = self.get(path)
        self.assertEqual(status, 200)
        self.assertIn("text/html", headers["Content-Type"])
        self.assertTrue(body.lstrip().startswith(b"<"))
        self.fake.set_global(fault="empty")
        self.assertEqual(self.body(path),
                         fixture("coingecko", "empty.json"))
        self.fake.set_global(fault="nan_negative")
        status, _, raw = self.get(path)
        self.assertIn(b"NaN", raw)
        prices = [p for _, p in loads(raw)["prices"]]
        self.assertTrue(any(p < 0 for p in prices))
        self.assertTrue(any(math.isnan(p) for p in prices))
        self.fake.set_global(fault="http_500", fault_times=1)
        self.assertEqual(self.get(path)[0], 500)
        self.assertEqual(self.get(path)[0], 200)

    def test_listed_date(self) -> None:
        self.fake.set_symbol("newcoin", listed="2024-03-01")
        doc = self.body(chart("newcoin", NOW - 100 * DAY, NOW))
        self.assertEqual(doc["prices"][0][0], 1709251200000)  # 2024-03-01

    def test_answer_is_the_parser_fixture(self) -> None:
        status, _, body = self.get(chart("bitcoin", NOW - 100 * DAY, NOW))
        self.assertEqual(status, 200)
        matches_fixture(self, "coingecko", "from_fake.json", body)

    def test_script(self) -> None:
        run_script(self, "fake_coingecko.py", "--demo-key", "k")


if __name__ == "__main__":
    unittest.main()
