#!/usr/bin/env python3
"""Fake Frankfurter (v1) for backfilld tests.

Serves ``GET /v1/{start}..{end}?base=EUR&symbols=USD`` (and ``{start}..``,
up to today) on loopback in Frankfurter's wire format, as produced by
``lib/versions/v1.rb`` of github.com/lineofflight/frankfurter:

    {"amount":1.0,"base":"EUR","start_date":"2024-01-02",
     "end_date":"2024-01-05","rates":{"2024-01-02":{"USD":1.0956},...}}

Working days only (weekends, 1 January and 25 December have no rates).  An
unknown currency, and a window without any rate, answer HTTP 404
``{"message":"not found"}``; base = quote answers 422 ``{"message":"bad
currency pair"}``, a bad date 422 ``{"message":"invalid date"}``.

Symbols in the control API and the request log are "BASE/QUOTES", e.g.
"EUR/USD".  The ``empty`` fault is the real answer for a window without
rates: the 404 above.  See ``scripted_fake.py`` for options and faults.

    python3 fake_frankfurter.py [--host 127.0.0.1] [--port 0]
                                [--port-file PATH] [--unknown SYM,...]
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys

from scripted_fake import (Answer, BadRequest, Route, ScriptedFake, days, level,
                       parse_day, run, spoil, common_options)

#: The currencies of the ECB's reference rates (EUR is the base).
CURRENCIES = frozenset("""AUD BGN BRL CAD CHF CNY CZK DKK EUR GBP HKD HUF IDR
ILS INR ISK JPY KRW MXN MYR NOK NZD PHP PLN RON SEK SGD THB TRY USD
ZAR""".split())
#: Euros' worth in each currency, roughly as in 2024.
EUR_LEVELS = {
    "AUD": 1.64, "BGN": 1.9558, "BRL": 5.6, "CAD": 1.47, "CHF": 0.95,
    "CNY": 7.8, "CZK": 25.0, "DKK": 7.46, "EUR": 1.0, "GBP": 0.85,
    "HKD": 8.5, "HUF": 390.0, "IDR": 17000.0, "ILS": 4.0, "INR": 90.0,
    "ISK": 150.0, "JPY": 160.0, "KRW": 1460.0, "MXN": 19.5, "MYR": 5.0,
    "NOK": 11.6, "NZD": 1.78, "PHP": 61.0, "PLN": 4.3, "RON": 4.97,
    "SEK": 11.4, "SGD": 1.45, "THB": 38.5, "TRY": 35.0, "USD": 1.09,
    "ZAR": 20.0,
}
NOT_FOUND_BODY = b'{"message":"not found"}'
PATH = re.compile(r"^/v1/(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})?$")


def eur_rate(currency: str, day: dt.date) -> float:
    if currency == "EUR":
        return 1.0
    return level(currency, day, EUR_LEVELS[currency], 0.08)


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and (day.month, day.day) not in ((1, 1),
                                                              (12, 25))


def rounded(x: float) -> float:
    """Five significant digits, about what the ECB publishes."""
    return float(f"{x:.5g}")


class FakeFrankfurter(ScriptedFake):
    server_name = "fake-frankfurter/1.0"
    logged_headers = ("user-agent",)

    def route(self, path: str, query: dict[str, str]) -> Route | None:
        m = PATH.match(path)
        if m is None:
            return None
        base = (query.get("base") or query.get("from") or "EUR").upper()
        quotes = (query.get("symbols") or query.get("to") or "").upper()
        return Route(f"{base}/{quotes}", {"start": m[1], "end": m[2],
                                          "base": base, "quotes": quotes})

    def not_found(self, route: Route) -> Answer:
        return Answer(404, NOT_FOUND_BODY)

    def rate_limited(self) -> Answer:
        return Answer(429, b'{"message":"too many requests"}')

    def unknown_path(self) -> Answer:
        return Answer(404, NOT_FOUND_BODY)

    def data(self, route: Route, headers, opts: dict, now: float) -> Answer:
        p = route.params
        base = p["base"]
        quotes = [q for q in p["quotes"].split(",") if q] or sorted(
            CURRENCIES - {base})
        if [base] == quotes:
            raise BadRequest(Answer(422, b'{"message":"bad currency pair"}'))
        try:
            today = dt.datetime.fromtimestamp(now, dt.timezone.utc).date()
            start = parse_day(p["start"])
            end = parse_day(p["end"]) if p["end"] else today
        except ValueError:
            raise BadRequest(Answer(422, b'{"message":"invalid date"}'))
        if base not in CURRENCIES or any(q not in CURRENCIES for q in quotes):
            return self.not_found(route)
        if opts["listed"]:
            start = max(start, parse_day(opts["listed"]))
        working = [d for d in days(start, min(end, today), False)
                   if is_working_day(d)]
        if opts["fault"] == "empty" or not working:
            return self.not_found(route)
        rates = {}
        for quote in quotes:
            values = [rounded(eur_rate(quote, d) / eur_rate(base, d))
                      for d in working]
            for d, v in zip(working, spoil(values, opts["fault"])):
                rates.setdefault(d.isoformat(), {})[quote] = v
        body = {"amount": 1.0, "base": base,
                "start_date": working[0].isoformat(),
                "end_date": working[-1].isoformat(), "rates": rates}
        return Answer(200, json.dumps(body, separators=(",", ":"),
                                      allow_nan=True).encode(),
                      headers={"Cache-Control": "public, max-age=86400"})


def main(argv: list[str] | None = None) -> int:
    return run("Fake Frankfurter (v1) for tests.",
               lambda a: FakeFrankfurter(**common_options(a)), argv=argv)


if __name__ == "__main__":
    sys.exit(main())
