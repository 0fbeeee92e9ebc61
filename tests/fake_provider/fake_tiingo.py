#!/usr/bin/env python3
"""Fake Tiingo end-of-day prices for backfilld tests.

Serves ``GET /tiingo/daily/{ticker}/prices?startDate=…&endDate=…`` on
loopback in Tiingo's wire format (https://www.tiingo.com/documentation/
end-of-day): a JSON array of one object per weekday,

    [{"date":"2024-02-09T00:00:00.000Z","close":…,"high":…,"low":…,
      "open":…,"volume":…,"adjClose":…,"adjHigh":…,"adjLow":…,"adjOpen":…,
      "adjVolume":…,"divCash":0.24,"splitFactor":1.0}, …]

``[]`` for a window without trading; without startDate only the latest
day.  Raw prices drop at a split (``SPLITS``) and carry deterministic
quarterly dividends; adjusted prices are scaled back from today, so one day
has the same values whatever window is asked.  An unknown ticker (``status:
unknown``) answers HTTP 404 ``{"detail":"Error: Ticker 'XYZ' not found"}``.

The key goes in ``Authorization: Token KEY`` (or ``?token=KEY``).  Without
one the fake answers 401; with ``--api-key KEY`` another key is refused with
401 as well.  The bodies of those 401s and of the 429 are stand-ins:
Tiingo's exact wording for them is not recorded in its documentation.

Symbols in the control API and the request log are upper-case tickers.  See
``scripted_fake.py`` for the options and faults.

    python3 fake_tiingo.py [--host 127.0.0.1] [--port 0] [--port-file PATH]
                           [--unknown SYM,...] [--api-key KEY]
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys

from scripted_fake import (JSON_TYPE, Answer, BadRequest, Route, ScriptedFake,
                       days, level, parse_day, run, spoil, units,
                       common_options)

PATH = re.compile(r"^/tiingo/daily/([^/]+)/prices$")
#: Splits the fake knows: ticker → (day, shares after per share before).
SPLITS = {"NVDA": (dt.date(2024, 6, 10), 10.0),
          "AAPL": (dt.date(2020, 8, 31), 4.0)}
LEVELS = {"AAPL": 185.0, "MSFT": 400.0, "NVDA": 120.0, "SPY": 500.0,
          "AMD": 140.0}


def not_found_body(ticker: str) -> bytes:
    return json.dumps({"detail": f"Error: Ticker '{ticker}' not found"},
                      separators=(",", ":")).encode()


def lenient_day(text: str) -> dt.date:
    """Tiingo accepts 2012-1-1 as well as 2012-01-01."""
    try:
        y, m, d = (int(x) for x in text.split("-"))
        return dt.date(y, m, d)
    except (AttributeError, ValueError):
        raise ValueError(f"not a date: {text!r}") from None


class FakeTiingo(ScriptedFake):
    server_name = "fake-tiingo/1.0"
    path_pattern = PATH
    logged_headers = ("authorization", "accept", "user-agent")

    def __init__(self, *args, api_key: str | None = None, **kwargs) -> None:
        self.api_key = api_key
        super().__init__(*args, **kwargs)

    def unknown_path(self) -> Answer:
        return Answer(404, b'{"detail":"Not found."}')

    def not_found(self, route: Route) -> Answer:
        return Answer(404, not_found_body(route.symbol))

    def rate_limited(self) -> Answer:
        return Answer(429, b'{"detail":"Error: You have run over your '
                           b'hourly request allocation."}')

    def authorize(self, headers) -> Answer | None:
        auth = headers.get("authorization") or ""
        key = auth[len("Token "):] if auth.startswith("Token ") else None
        if not key:
            return Answer(401, b'{"detail":"Please supply a token"}')
        if self.api_key is not None and key != self.api_key:
            return Answer(401, b'{"detail":"Invalid token."}')
        return None

    # -- prices -----------------------------------------------------------------

    def dividend(self, ticker: str, day: dt.date) -> float:
        """A dividend about once a quarter, on a weekday, per ticker."""
        phase = int(units("dividend", ticker)[0] * 91)
        if day.weekday() < 5 and (day.toordinal() + phase) % 91 == 0:
            return round(0.1 + units("cash", ticker)[1], 2)
        return 0.0

    def split(self, ticker: str, day: dt.date) -> float:
        split = SPLITS.get(ticker)
        return split[1] if split and split[0] == day else 1.0

    def row(self, ticker: str, day: dt.date, today: dt.date) -> dict:
        u = units("bar", ticker, day.isoformat())
        adj_close = level(ticker, day, LEVELS.get(ticker, 50.0), 0.5)
        split = SPLITS.get(ticker)
        # Before a split, shares were fewer and dearer.
        shares = split[1] if split and day < split[0] <= today else 1.0
        factor = shares
        for n in range(1, 400):   # dividends after the day lower adj prices
            later = day + dt.timedelta(days=n)
            if later > today:
                break
            if self.dividend(ticker, later):
                factor /= 0.995
        close = round(adj_close * factor, 2)
        open_ = round(close * (1 + 0.01 * (2 * u[0] - 1)), 2)
        high = round(max(open_, close) * (1 + 0.01 * u[1]), 2)
        low = round(min(open_, close) * (1 - 0.01 * u[2]), 2)
        volume = int(1e6 + 5e7 * u[3])
        return {
            "date": f"{day.isoformat()}T00:00:00.000Z", "close": close,
            "high": high, "low": low, "open": open_, "volume": volume,
            "adjClose": round(close / factor, 4),
            "adjHigh": round(high / factor, 4),
            "adjLow": round(low / factor, 4),
            "adjOpen": round(open_ / factor, 4),
            "adjVolume": int(volume * shares),
            "divCash": self.dividend(ticker, day),
            "splitFactor": self.split(ticker, day),
        }

    def data(self, route: Route, headers, opts: dict, now: float) -> Answer:
        q = route.params
        if q.get("format", "json").lower() != "json":
            raise BadRequest(Answer(400, b'{"detail":"Only JSON is faked."}'))
        today = dt.datetime.fromtimestamp(now, dt.timezone.utc).date()
        try:
            if q.get("startDate"):
                start = lenient_day(q["startDate"])
                end = lenient_day(q["endDate"]) if q.get("endDate") else today
            else:
                end = today
                while end.weekday() >= 5:
                    end -= dt.timedelta(days=1)
                start = end
        except ValueError as exc:
            raise BadRequest(Answer(400, json.dumps(
                {"detail": f"Error: {exc}"}).encode()))
        if opts["listed"]:
            start = max(start, parse_day(opts["listed"]))
        rows = [] if opts["fault"] == "empty" else [
            self.row(route.symbol, d, today)
            for d in days(start, min(end, today), True)]
        closes = spoil([r["close"] for r in rows], opts["fault"])
        for r, c in zip(rows, closes):
            r["close"] = c
        return Answer(200, json.dumps(rows, separators=(",", ":"),
                                      allow_nan=True).encode(), JSON_TYPE)


def main(argv: list[str] | None = None) -> int:
    def extra(parser) -> None:
        parser.add_argument("--api-key",
                            help="the only key accepted (default: any)")
    return run("Fake Tiingo end-of-day prices for tests.",
               lambda a: FakeTiingo(**common_options(a),
                                    api_key=a.api_key),
               extra, argv)


if __name__ == "__main__":
    sys.exit(main())
