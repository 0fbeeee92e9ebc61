#!/usr/bin/env python3
"""Fake CoinGecko (API v3) for backfilld tests.

Serves ``GET /api/v3/coins/{id}/market_chart/range?vs_currency=usd&from=…
&to=…`` (Unix seconds) on loopback in CoinGecko's wire format:

    {"prices":[[ms, price], …], "market_caps":[[ms, cap], …],
     "total_volumes":[[ms, volume], …]}

with CoinGecko's automatic granularity: daily snapshots at 00:00 UTC for a
window over 90 days, hourly points (stamped a few seconds after the hour)
otherwise, and when the window reaches the present a last point at the
current time (the live price).  Every coin id exists unless marked
``status: unknown``, which answers HTTP 404 ``{"error":"coin not found"}``.
A window reaching back more than 365 days answers HTTP 401 with error 10012,
as the keyless and demo plans do; the ``http_429`` fault sends the public
API's 429 body.  With ``--demo-key KEY``, a request carrying another
``x-cg-demo-api-key`` is refused with 401 (the exact error code CoinGecko
uses for a wrong key is not documented here; 10010 is a stand-in).

Symbols in the control API and the request log are coin ids ("bitcoin").
See ``scripted_fake.py`` for the options and faults.

    python3 fake_coingecko.py [--host 127.0.0.1] [--port 0]
                              [--port-file PATH] [--unknown ID,...]
                              [--demo-key KEY]
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys

from scripted_fake import (JSON_TYPE, Answer, BadRequest, Route, ScriptedFake,
                       level, parse_day, run, spoil, units,
                       common_options)

NOT_FOUND_BODY = b'{"error":"coin not found"}'
RATE_LIMITED_BODY = json.dumps({"status": {
    "error_code": 429,
    "error_message": "You've exceeded the Rate Limit. Please visit "
                     "https://www.coingecko.com/en/api/pricing to subscribe "
                     "to our API plans for higher rate limits."}}).encode()
RANGE_LIMIT_MESSAGE = (
    "Your request exceeds the allowed time range. Public API users are "
    "limited to querying historical data within the past 365 days. Upgrade "
    "to a paid plan to enjoy full historical data access: "
    "https://www.coingecko.com/en/api/pricing. ")
PATH = re.compile(r"^/api/v3/coins/([^/]+)/market_chart/range$")
DAY = 86400
HOUR = 3600
#: Dollar levels for coins tests are likely to look at.
LEVELS = {"bitcoin": 45000.0, "ethereum": 2500.0, "tether": 1.0,
          "solana": 100.0, "dogecoin": 0.08}
#: Dollars' worth in other quote currencies.
VS = {"usd": 1.0, "eur": 0.92, "gbp": 0.79, "jpy": 150.0, "chf": 0.88}


class FakeCoinGecko(ScriptedFake):
    server_name = "fake-coingecko/1.0"
    path_pattern = PATH
    logged_headers = ("x-cg-demo-api-key", "accept", "user-agent")

    def __init__(self, *args, demo_key: str | None = None, **kwargs) -> None:
        self.demo_key = demo_key
        super().__init__(*args, **kwargs)

    def normalize(self, symbol: str) -> str:
        return symbol.strip().lower()

    def unknown_path(self) -> Answer:
        return Answer(404, b'{"error":"Incorrect path. Please check '
                           b'https://www.coingecko.com/api/"}')

    def not_found(self, route: Route) -> Answer:
        return Answer(404, NOT_FOUND_BODY)

    def rate_limited(self) -> Answer:
        return Answer(429, RATE_LIMITED_BODY)

    def authorize(self, headers) -> Answer | None:
        key = headers.get("x-cg-demo-api-key")
        if self.demo_key is not None and key is not None \
                and key != self.demo_key:
            return Answer(401, json.dumps({"status": {
                "error_code": 10010,
                "error_message": "Invalid API key"}}).encode())
        return None

    def price(self, coin: str, t: int, vs: str) -> float:
        day = dt.datetime.fromtimestamp(t, dt.timezone.utc).date()
        base = LEVELS.get(coin) or 0.05 * math.exp(8 * units("coin", coin)[0])
        hourly = 1 + 0.004 * math.sin(2 * math.pi * (t % DAY) / DAY)
        return level(coin, day, base, 1.5) * hourly * VS[vs]

    def data(self, route: Route, headers, opts: dict, now: float) -> Answer:
        q = route.params
        vs = (q.get("vs_currency") or "").lower()
        if vs not in VS:
            raise BadRequest(Answer(400, b'{"error":"invalid vs_currency"}'))
        try:
            start = int(float(q["from"]))
            end = int(float(q["to"]))
        except (KeyError, ValueError):
            raise BadRequest(Answer(400, b'{"error":"invalid from or to"}'))
        now = int(now)
        if start < now - 365 * DAY:
            return Answer(401, json.dumps({"error": {"status": {
                "timestamp": dt.datetime.fromtimestamp(
                    now, dt.timezone.utc).isoformat(),
                "error_code": 10012,
                "error_message": RANGE_LIMIT_MESSAGE}}}).encode())
        # Granularity follows the window asked for, whatever lies in it.
        daily = end - start > 90 * DAY
        if opts["listed"]:
            listed = parse_day(opts["listed"])
            start = max(start, int(dt.datetime.combine(
                listed, dt.time(), dt.timezone.utc).timestamp()))
        end = min(end, now)
        times: list[int] = []
        if daily:
            t = -(-start // DAY) * DAY          # the first midnight
            while t <= end:
                times.append(t)
                t += DAY
        else:
            t = -(-start // HOUR) * HOUR
            while t <= end:
                jitter = 1 + int(units("jitter", route.symbol, str(t))[0] * 8)
                if t + jitter <= end:
                    times.append(t + jitter)
                t += HOUR
        if end >= now - HOUR and start <= now and (not times
                                                   or times[-1] < now):
            times.append(now)                   # the live price
        if opts["fault"] == "empty":
            times = []
        prices = [self.price(route.symbol, t, vs) for t in times]
        supply = 1e7 + 1e9 * units("supply", route.symbol)[0]
        body = {
            "prices": [[t * 1000 + (0 if t % DAY == 0 else 123), p]
                       for t, p in zip(times, spoil(prices, opts["fault"]))],
            "market_caps": [[t * 1000 + (0 if t % DAY == 0 else 123),
                             p * supply] for t, p in zip(times, prices)],
            "total_volumes": [[t * 1000 + (0 if t % DAY == 0 else 123),
                               p * supply * 0.03]
                              for t, p in zip(times, prices)],
        }
        return Answer(200, json.dumps(body, separators=(",", ":"),
                                      allow_nan=True).encode(), JSON_TYPE)


def main(argv: list[str] | None = None) -> int:
    def extra(parser) -> None:
        parser.add_argument("--demo-key",
                            help="refuse requests carrying another demo key")
    return run("Fake CoinGecko (API v3) for tests.",
               lambda a: FakeCoinGecko(**common_options(a),
                                       demo_key=a.demo_key),
               extra, argv)


if __name__ == "__main__":
    sys.exit(main())
