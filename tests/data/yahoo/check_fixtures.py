#!/usr/bin/env python3
"""Check the Yahoo chart fixtures in this directory against their README.

For every fixture this recomputes, with Python's zoneinfo (the system tz
database), what a correct parser must produce -- trading dates in the
exchange's IANA zone, null bars skipped, the later bar winning a duplicated
day -- and compares it with EXPECTED below, which mirrors the README table.
It also checks that each bar timestamp is the session open of its local
date, that the traps the fixtures are meant to set are really there, and
that the README lists every expected (date, close) pair.

Prints "OK" and exits 0, or prints the mismatches and exits 1.
Run: python3 tests/data/yahoo/check_fixtures.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
import struct
import sys
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))

NOT_FOUND = (b'{"chart":{"result":null,"error":{"code":"Not Found",'
             b'"description":"No data found, symbol may be delisted"}}}')

# Bars: (trading date, close, adjclose or None, volume or None).  Prices are
# the quoted values; the JSON holds them as float32 widened to double
# (169.12 -> 169.1199951171875), which is what is compared.
EXPECTED: dict[str, dict] = {
    "aapl_1d.json": dict(
        symbol="AAPL", currency="USD", tz="America/New_York", open=(9, 30),
        bars=[("2024-03-06", 169.12, 168.19, 68587700),
              ("2024-03-07", 169.00, 168.08, 71765100),
              ("2024-03-08", 170.73, 169.80, 76114600),
              ("2024-03-11", 172.75, 171.81, 60139500),
              ("2024-03-12", 173.23, 172.28, 59825400)]),
    "aapl_nulls.json": dict(
        symbol="AAPL", currency="USD", tz="America/New_York", open=(9, 30),
        skipped=1,
        bars=[("2024-03-06", 169.12, 168.19, 68587700),
              ("2024-03-07", 169.00, 168.08, 71765100),
              ("2024-03-11", 172.75, 171.81, None),
              ("2024-03-12", 173.23, 172.28, 59825400)]),
    "btc_usd.json": dict(
        symbol="BTC-USD", currency="USD", tz="UTC", open=(0, 0),
        bars=[("2024-03-07", 66925.48, 66925.48, 28434040950),
              ("2024-03-08", 68300.09, 68300.09, 40851208101),
              ("2024-03-09", 68498.88, 68498.88, 21609650379),
              ("2024-03-10", 69019.79, 69019.79, 35683977532),
              ("2024-03-11", 72123.91, 72123.91, 65716656765),
              ("2024-03-12", 71481.29, 71481.29, 62554434520),
              ("2024-03-13", 73083.50, 73083.50, 48212536929)]),
    "eurusd_x.json": dict(
        symbol="EURUSD=X", currency="USD", tz="Europe/London", open=(0, 0),
        decimals=4,
        bars=[("2024-03-28", 1.0829, 1.0829, 0),
              ("2024-03-29", 1.0790, 1.0790, 0),
              ("2024-04-01", 1.0788, 1.0788, 0),
              ("2024-04-02", 1.0740, 1.0740, 0)]),
    "bhp_ax.json": dict(
        symbol="BHP.AX", currency="AUD", tz="Australia/Sydney", open=(10, 0),
        bars=[("2024-01-08", 50.88, 49.46, 6573318),
              ("2024-01-09", 50.41, 49.00, 7154902),
              ("2024-01-10", 49.96, 48.57, 8221345)]),
    "vod_l.json": dict(
        symbol="VOD.L", currency="GBp", tz="Europe/London", open=(8, 0),
        bars=[("2024-03-27", 68.96, 66.55, 41350221),
              ("2024-03-28", 70.46, 67.99, 58126437),
              ("2024-04-02", 70.16, 67.70, 39844120)]),
    "duplicate_day.json": dict(
        symbol="AAPL", currency="USD", tz="America/New_York", open=(9, 30),
        live_bars=1,
        bars=[("2024-03-11", 172.75, 171.81, 60139500),
              ("2024-03-12", 173.41, 172.46, 53301900)]),
    "no_timestamps.json": dict(
        symbol="AAPL", currency="USD", tz="America/New_York", open=(9, 30),
        bars=[]),
    "no_adjclose.json": dict(
        symbol="^GSPC", currency="USD", tz="America/New_York", open=(9, 30),
        bars=[("2024-03-06", 5104.76, None, 4757250000),
              ("2024-03-07", 5157.36, None, 4137980000),
              ("2024-03-08", 5123.69, None, 4335360000)]),
    "nvda_split.json": dict(
        symbol="NVDA", currency="USD", tz="America/New_York", open=(9, 30),
        bars=[("2024-06-05", 122.44, 122.43, 528402000),
              ("2024-06-06", 121.00, 120.99, 664696000),
              ("2024-06-07", 120.88, 120.87, 412386000),
              ("2024-06-10", 121.79, 121.78, 314162700),
              ("2024-06-11", 120.91, 120.91, 222551200)]),
    "events_defects.json": dict(
        symbol="BHP.AX", currency="AUD", tz="Australia/Sydney", open=(10, 0),
        bars=[("2024-01-08", 50.88, 49.46, 6573318),
              ("2024-01-09", 50.41, 49.00, 7154902),
              ("2024-01-10", 49.96, 48.57, 8221345)]),
    "mismatched.json": dict(error="malformed"),
    "not_found.json": dict(error="Not Found", exact=NOT_FOUND),
    "result_null.json": dict(
        error="no result", exact=b'{"chart":{"result":null,"error":null}}'),
}


class ParseError(Exception):
    pass


def f32(value: float, decimals: int) -> float:
    """A quoted price as Yahoo sends it: float32 widened to double."""
    return struct.unpack("f", struct.pack("f", round(value, decimals)))[0]


def reference_parse(doc: dict) -> tuple[dict, list[tuple], int]:
    """What backfilld's parser must do; returns (meta, bars, skipped).

    bars: (date, ts, close, adjclose or None, volume or None), sorted.
    """
    chart = doc["chart"]
    if chart.get("error"):
        raise ParseError(chart["error"]["code"])
    if not chart.get("result"):
        raise ParseError("no result")
    result = chart["result"][0]
    meta = result["meta"]
    zone = ZoneInfo(meta["exchangeTimezoneName"])
    stamps = result.get("timestamp", [])
    quote = result["indicators"]["quote"][0]
    adj_list = result["indicators"].get("adjclose")
    adj = adj_list[0].get("adjclose") if adj_list else None
    if not stamps:
        return meta, [], 0
    columns = {k: quote.get(k) for k in ("open", "high", "low", "close",
                                         "volume")}
    for key, values in list(columns.items()) + [("adjclose", adj)]:
        if values is None and key != "adjclose":
            raise ParseError("malformed")
        if values is not None and len(values) != len(stamps):
            raise ParseError("malformed")
    by_day: dict[dt.date, tuple] = {}
    skipped = 0
    for i, ts in enumerate(stamps):
        ohlc = [columns[k][i] for k in ("open", "high", "low", "close")]
        if any(v is None for v in ohlc):
            skipped += 1
            continue
        day = dt.datetime.fromtimestamp(ts, zone).date()
        bar = (day, ts, ohlc[3], adj[i] if adj else None,
               columns["volume"][i])
        # A later bar of the same trading day (the live bar) wins.
        if day not in by_day or ts > by_day[day][1]:
            by_day[day] = bar
    return meta, [by_day[d] for d in sorted(by_day)], skipped


def check_file(name: str, want: dict, readme: str) -> list[str]:
    errors: list[str] = []

    def fail(message: str) -> None:
        errors.append(f"{name}: {message}")

    with open(os.path.join(HERE, name), "rb") as f:
        raw = f.read()
    if "exact" in want and raw.strip() != want["exact"]:
        fail("body differs from the exact expected bytes")
    doc = json.loads(raw)

    try:
        meta, bars, skipped = reference_parse(doc)
    except ParseError as exc:
        if str(exc) != want.get("error"):
            fail(f"parse error {exc}, expected {want.get('error')}")
        return errors
    if "error" in want:
        fail(f"parsed, but expected error {want['error']}")
        return errors

    zone = ZoneInfo(want["tz"])
    decimals = want.get("decimals", 2)
    for key, field in (("symbol", "symbol"), ("currency", "currency"),
                       ("tz", "exchangeTimezoneName")):
        if meta.get(field) != want[key]:
            fail(f"meta {field} {meta.get(field)!r} != {want[key]!r}")
    if meta.get("priceHint") != decimals:
        fail(f"priceHint {meta.get('priceHint')} != {decimals}")

    # Every timestamp is the session open of its local date, except the
    # live bars at the end of duplicate_day.json.
    stamps = doc["chart"]["result"][0].get("timestamp", [])
    live = want.get("live_bars", 0)
    for ts in stamps[:len(stamps) - live]:
        local = dt.datetime.fromtimestamp(ts, zone)
        if (local.hour, local.minute, local.second) != (*want["open"], 0):
            fail(f"timestamp {ts} is {local}, not the session open")
    quote = doc["chart"]["result"][0]["indicators"]["quote"][0]
    for i in range(len(stamps)):
        o, h, lo, c = (quote[k][i] for k in ("open", "high", "low", "close"))
        if None not in (o, h, lo, c) and not lo <= min(o, c) <= max(o, c) \
                <= h:
            fail(f"bar {i}: low/open/close/high inconsistent")
    if skipped != want.get("skipped", 0):
        fail(f"{skipped} bars skipped, expected {want.get('skipped', 0)}")

    got = [(d.isoformat(), c, a, v) for d, _, c, a, v in bars]
    expected = [(d, f32(c, decimals),
                 None if a is None else f32(a, decimals), v)
                for d, c, a, v in want["bars"]]
    if got != expected:
        fail(f"bars\n    got      {got}\n    expected {expected}")

    # The README row lists every (date, close) pair.
    row = next((line for line in readme.splitlines()
                if line.startswith(f"| `{name}`")), None)
    if row is None:
        fail("no row in README.md")
    else:
        for d, c, _, _ in want["bars"]:
            if f"{d} {c:.{decimals}f}" not in row:
                fail(f"README row lacks '{d} {c:.{decimals}f}'")
    return errors


def check_traps() -> list[str]:
    """The fixtures must really set the traps the README describes."""
    errors = []

    def load(name: str) -> dict:
        with open(os.path.join(HERE, name)) as f:
            return json.load(f)["chart"]["result"][0]

    def utc_hours(result: dict) -> list[int]:
        return [dt.datetime.fromtimestamp(t, dt.timezone.utc).hour
                for t in result["timestamp"]]

    # aapl_1d: 14:30 UTC before 2024-03-10, 13:30 UTC after.
    if utc_hours(load("aapl_1d.json")) != [14, 14, 14, 13, 13]:
        errors.append("aapl_1d.json: bars do not straddle the US DST change")

    # eurusd_x: gmtoffset (0, fetched in winter) applied to the BST bars
    # gives the previous day; the IANA zone gives the right one.
    eur = load("eurusd_x.json")
    offset = eur["meta"]["gmtoffset"]
    by_offset = [dt.datetime.fromtimestamp(t + offset, dt.timezone.utc).date()
                 for t in eur["timestamp"]]
    by_zone = [dt.datetime.fromtimestamp(t, ZoneInfo("Europe/London")).date()
               for t in eur["timestamp"]]
    if by_offset[:2] != by_zone[:2] or by_offset[2:] == by_zone[2:]:
        errors.append("eurusd_x.json: gmtoffset trap not set "
                      f"({by_offset} vs {by_zone})")

    # bhp_ax: every bar's UTC date is the day before its Sydney date.
    bhp = load("bhp_ax.json")
    for t in bhp["timestamp"]:
        utc_day = dt.datetime.fromtimestamp(t, dt.timezone.utc).date()
        local_day = dt.datetime.fromtimestamp(
            t, ZoneInfo("Australia/Sydney")).date()
        if utc_day != local_day - dt.timedelta(days=1):
            errors.append(f"bhp_ax.json: {t} is not on the previous UTC day")

    # vod_l: straddles UK DST (08:00 GMT = 08 UTC, 08:00 BST = 07 UTC).
    if utc_hours(load("vod_l.json")) != [8, 8, 7]:
        errors.append("vod_l.json: bars do not straddle the UK DST change")

    # btc_usd: seven consecutive days including a weekend.
    btc = load("btc_usd.json")["timestamp"]
    days = [dt.datetime.fromtimestamp(t, dt.timezone.utc).date()
            for t in btc]
    if any(b - a != dt.timedelta(days=1) for a, b in zip(days, days[1:])) \
            or not {5, 6} <= {d.weekday() for d in days}:
        errors.append("btc_usd.json: not 7 consecutive days with a weekend")

    # mismatched: 4 timestamps, 3 closes.
    mis = load("mismatched.json")
    if (len(mis["timestamp"]),
            len(mis["indicators"]["quote"][0]["close"])) != (4, 3):
        errors.append("mismatched.json: expected 4 timestamps and 3 closes")

    # no_timestamps / no_adjclose: the keys really are absent.
    if "timestamp" in load("no_timestamps.json"):
        errors.append("no_timestamps.json: has a timestamp key")
    if "adjclose" in load("no_adjclose.json")["indicators"]:
        errors.append("no_adjclose.json: has adjclose")
    return errors


def main() -> int:
    with open(os.path.join(HERE, "README.md")) as f:
        readme = f.read()
    errors = []
    present = {n for n in os.listdir(HERE) if n.endswith(".json")}
    if present != set(EXPECTED):
        errors.append(f"fixture set differs: extra {present - set(EXPECTED)}"
                      f", missing {set(EXPECTED) - present}")
    for name, want in EXPECTED.items():
        if name in present:
            errors += check_file(name, want, readme)
    errors += check_traps()
    if errors:
        print("MISMATCHES:")
        for e in errors:
            print(" -", e)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
