#!/usr/bin/env python3
"""Tests for the fake Yahoo's faults and HTTP behaviour (shared server).

Run: python3 tests/fake_provider/test_fake_yahoo_faults.py [-v]
"""

from __future__ import annotations

import datetime as dt
import gzip
import http.client
import json
import time
import unittest

from yahoo_test_support import (NEW_YORK, ONE_YEAR, UTC, SharedServerTest,
                                fetch)

# yahoo_test_support has put this directory on sys.path.
from fake_yahoo import NOT_FOUND_BODY


class FaultAndHttpTest(SharedServerTest):
    """Unknown symbols, faults, gzip, keep-alive, control API, clock."""

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


if __name__ == "__main__":
    unittest.main()
