#!/usr/bin/env python3
"""Tests for the fake Frankfurter server (stdlib unittest, a few seconds).

Run: python3 tests/fake_provider/test_fake_frankfurter.py [-v]
"""

from __future__ import annotations

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_frankfurter import NOT_FOUND_BODY, FakeFrankfurter  # noqa: E402
from fake_test_support import (FakeServerTest, fetch, fixture,  # noqa: E402
                               loads, matches_fixture, run_script)

#: 2024-01-11 12:00 UTC.
NOW = 1704974400


class FakeFrankfurterTest(FakeServerTest):
    now = NOW

    @classmethod
    def make_fake(cls) -> FakeFrankfurter:
        return FakeFrankfurter()

    def series(self, path: str) -> dict:
        status, headers, body = self.get(path)
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["Content-Type"],
                         "application/json; charset=utf-8")
        return loads(body)

    def test_time_series_shape_as_documented(self) -> None:
        doc = self.series("/v1/2023-12-29..2024-01-10?base=EUR&symbols=USD")
        real = fixture("frankfurter", "eur_usd.json")
        self.assertEqual(list(doc), list(real))
        self.assertEqual(doc["amount"], 1.0)
        self.assertEqual(doc["base"], "EUR")
        days = list(doc["rates"])
        # Working days: no weekend, no 1 January.
        self.assertEqual(days, ["2023-12-29", "2024-01-02", "2024-01-03",
                                "2024-01-04", "2024-01-05", "2024-01-08",
                                "2024-01-09", "2024-01-10"])
        self.assertEqual((doc["start_date"], doc["end_date"]),
                         (days[0], days[-1]))
        for rates in doc["rates"].values():
            self.assertEqual(list(rates), ["USD"])
            self.assertTrue(0.8 < rates["USD"] < 1.5)

    def test_open_end_runs_to_today(self) -> None:
        doc = self.series("/v1/2024-01-08..?symbols=USD")
        self.assertEqual(doc["base"], "EUR")
        self.assertEqual(doc["end_date"], "2024-01-11")

    def test_a_day_has_one_rate_whatever_the_window(self) -> None:
        short = self.series("/v1/2024-01-04..2024-01-05?base=EUR&symbols=USD")
        long = self.series("/v1/2023-06-01..2024-01-10?base=EUR&symbols=USD")
        self.assertEqual(short["rates"]["2024-01-04"],
                         long["rates"]["2024-01-04"])

    def test_rebased_pair(self) -> None:
        cross = self.series("/v1/2024-01-08..2024-01-08?base=USD&symbols=JPY")
        eur = self.series("/v1/2024-01-08..2024-01-08?base=EUR&symbols=USD,JPY")
        rates = eur["rates"]["2024-01-08"]
        self.assertEqual(cross["base"], "USD")
        self.assertAlmostEqual(cross["rates"]["2024-01-08"]["JPY"],
                               rates["JPY"] / rates["USD"], delta=0.05)

    def test_not_found_answers(self) -> None:
        for path in ("/v1/2024-01-02..2024-01-10?base=EUR&symbols=XYZ",
                     "/v1/2024-01-02..2024-01-10?base=XYZ&symbols=USD",
                     # A window without a working day is not found, too.
                     "/v1/2024-01-06..2024-01-07?base=EUR&symbols=USD"):
            status, headers, body = self.get(path)
            self.assertEqual((status, body), (404, NOT_FOUND_BODY), path)
            self.assertEqual(json.loads(body),
                             fixture("frankfurter", "not_found.json"))
        self.fake.set_symbol("EUR/GBP", status="unknown")
        status, _, _ = self.get("/v1/2024-01-02..2024-01-10?symbols=GBP")
        self.assertEqual(status, 404)
        self.assertEqual(self.fake.requests("EUR/GBP")[0]["status"], 404)

    def test_bad_pair_and_bad_date_are_422(self) -> None:
        status, _, body = self.get("/v1/2024-01-02..2024-01-10?base=EUR"
                                   "&symbols=EUR")
        self.assertEqual((status, json.loads(body)),
                         (422, fixture("frankfurter", "bad_pair.json")))
        status, _, _ = self.get("/v1/2024-02-30..2024-03-10?symbols=USD")
        self.assertEqual(status, 422)

    def test_listed_date_and_future_days(self) -> None:
        self.fake.set_symbol("EUR/USD", listed="2024-01-09")
        doc = self.series("/v1/2024-01-01..2024-01-31?symbols=USD")
        self.assertEqual(list(doc["rates"]),
                         ["2024-01-09", "2024-01-10", "2024-01-11"])

    def test_throttling_with_retry_after_then_recovery(self) -> None:
        self.fake.set_global(fault="http_429", fault_times=1, retry_after=7)
        path = "/v1/2024-01-02..2024-01-10?symbols=USD"
        status, headers, _ = self.get(path)
        self.assertEqual((status, headers.get("Retry-After")), (429, "7"))
        self.assertEqual(self.get(path)[0], 200)

    def test_body_faults(self) -> None:
        path = "/v1/2024-01-02..2024-01-10?symbols=USD"
        self.fake.set_global(fault="html")
        status, headers, body = self.get(path)
        self.assertEqual(status, 200)
        self.assertIn("text/html", headers["Content-Type"])
        self.assertTrue(body.startswith(b"<!DOCTYPE html>"))
        self.fake.set_global(fault="html_as_json")
        status, headers, body = self.get(path)
        self.assertEqual((status, body[:1]), (200, b"<"))
        self.assertIn("application/json", headers["Content-Type"])
        self.fake.set_global(fault="nulls")
        rates = self.series(path)["rates"]
        self.assertIn(None, [r["USD"] for r in rates.values()])
        self.fake.set_global(fault="truncated")
        _, _, body = self.get(path)
        with self.assertRaises(ValueError):
            json.loads(body)
        self.fake.set_global(fault="http_503")
        self.assertEqual(self.get(path)[0], 503)
        self.fake.set_symbol("EUR/USD", fault="none")
        self.assertEqual(self.get(path)[0], 200)

    def test_control_api_and_log_over_http(self) -> None:
        status, _, body = fetch(self.fake.base_url + "/_control",
                                data=b'{"symbols":{"eur/chf":'
                                     b'{"status":"unknown"}}}')
        self.assertEqual(status, 200)
        self.assertIn("EUR/CHF", json.loads(body)["symbols"])
        status, _, body = fetch(self.fake.base_url + "/_control",
                                data=b'{"global":{"fault":"boom"}}')
        self.assertEqual(status, 400)
        self.get("/v1/2024-01-02..2024-01-10?symbols=CHF")
        status, _, body = fetch(self.fake.base_url
                                + "/_requests?symbol=EUR/CHF")
        log = json.loads(body)
        self.assertEqual([(e["path"], e["status"]) for e in log],
                         [("/v1/2024-01-02..2024-01-10", 404)])
        fetch(self.fake.base_url + "/_reset", data=b"")
        self.assertEqual(self.fake.requests(), [])

    def test_answer_is_the_parser_fixture(self) -> None:
        status, _, body = self.get("/v1/2024-01-02..2024-03-28?base=EUR"
                                   "&symbols=USD")
        self.assertEqual(status, 200)
        matches_fixture(self, "frankfurter", "from_fake.json", body)

    def test_script(self) -> None:
        run_script(self, "fake_frankfurter.py")


if __name__ == "__main__":
    unittest.main()
