#!/usr/bin/env python3
"""Fake Yahoo Finance chart API (v8) for backfilld tests.

Serves ``GET /v8/finance/chart/{SYMBOL}`` on loopback in Yahoo's real wire
format, with deterministic daily bars, per-exchange session times (DST
included) and a catalogue of injectable faults.  Standard library only
(Python 3.11, Debian bookworm with the ``tzdata`` package).

Run it as a program::

    python3 fake_yahoo.py [--host 127.0.0.1] [--port 0] [--port-file PATH]
                          [--tls-cert PEM --tls-key PEM] [--unknown SYM,...]
                          [--quiet]

or use it in-process::

    with FakeYahoo() as fake:
        fake.set_symbol("AMD", fault="http_503", fault_times=2)
        urllib.request.urlopen(
            fake.base_url + "/v8/finance/chart/AMD?range=1y&interval=1d")

Control API (JSON in and out, never subject to faults):

    POST /_control   {"global": {opts}, "symbols": {"SYM": {opts}}, "now": ts}
                     merges settings; a null value deletes an option
                     ("now": null returns to the real clock)
    GET  /_control   current settings
    POST /_reset     back to the start-up settings, empty request log,
                     real clock; releases hung connections
    GET  /_requests  [{"symbol", "path", "query", "t", "status", ...}, ...]
                     chart requests in arrival order (?symbol=SYM filters)
    GET  /_health    200 "ok"

Options (per symbol, or global for symbols without their own value):
status, listed, fault, fault_times, delay_ms, retry_after, huge_bytes.  See
``OPTION_KEYS`` and ``FAULTS`` below and the ``FakeYahoo`` docstring.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import functools
import gzip
import hashlib
import json
import math
import os
import select
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

# --------------------------------------------------------------------------
# Wire constants
# --------------------------------------------------------------------------

JSON_TYPE = "application/json;charset=utf-8"
HTML_TYPE = "text/html;charset=utf-8"
TEXT_TYPE = "text/plain;charset=utf-8"

#: Yahoo's body for an unknown or delisted symbol (sent with HTTP 404).
NOT_FOUND_BODY = (
    b'{"chart":{"result":null,"error":{"code":"Not Found",'
    b'"description":"No data found, symbol may be delisted"}}}'
)
RESULT_NULL_BODY = b'{"chart":{"result":null,"error":null}}'

VALID_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y",
                "ytd", "max"]
RANGE_MONTHS = {"1mo": 1, "3mo": 3, "6mo": 6, "1y": 12, "2y": 24, "5y": 60,
                "10y": 120}
RANGE_DAYS = {"1d": 1, "5d": 5}

#: Fault names accepted by the ``fault`` option:
#:   none               disables a global fault for one symbol
#:   http_500/http_503  short HTML error page with that status
#:   http_429           text/plain "Too Many Requests" (+ Retry-After if
#:                      the retry_after option is set)
#:   hang               read the request, answer nothing; the connection is
#:                      held until the fault is cleared, reset() or stop()
#:   slow_loris         headers with Content-Length SLOW_LORIS_LENGTH, then
#:                      one byte a second (released like hang)
#:   html               200 text/html consent page
#:   not_json           200 application/json, body "Service Unavailable"
#:   truncated          the first half of a valid body (Content-Length fits)
#:   result_null        200 {"chart":{"result":null,"error":null}}
#:   mismatched_lengths close array one shorter than timestamp
#:   nulls              every 5th bar null in all quote arrays and adjclose
#:   nan_negative       some closes negative, some values the bare token NaN
#:   huge               valid JSON of huge_bytes bytes, streamed, never gzip
#:   empty              meta but no timestamp key, "quote":[{}]
#:   duplicate_last     extra live bar later on the last bar's local day
FAULTS = frozenset({
    "none", "http_500", "http_503", "http_429", "hang", "slow_loris", "html",
    "not_json", "truncated", "result_null", "mismatched_lengths", "nulls",
    "nan_negative", "huge", "empty", "duplicate_last",
})
OPTION_KEYS = frozenset({
    "status", "listed", "fault", "fault_times", "delay_ms", "retry_after",
    "huge_bytes",
})
DEFAULT_HUGE_BYTES = 50 * 1024 * 1024
#: Content-Length announced by the slow_loris fault.
SLOW_LORIS_LENGTH = 10 * 1024 * 1024

CHART_PREFIX = "/v8/finance/chart/"
ONE_DAY = dt.timedelta(days=1)

ERROR_PAGE = """<!DOCTYPE html>
<html><head><title>Yahoo</title></head>
<body><h1>{code} {reason}</h1>
<p>Will be right back... Thank you for your patience.</p></body></html>
"""
CONSENT_PAGE = b"""<!DOCTYPE html>
<html lang="en-US"><head><meta charset="utf-8"><title>Yahoo is part of the
Yahoo family of brands</title></head><body><form method="post"
action="https://consent.yahoo.com/v2/collectConsent"><button type="submit"
name="agree" value="agree">Accept all</button></form></body></html>
"""


# --------------------------------------------------------------------------
# Market profiles: zone, session open and instrument kind from the symbol
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    """How one kind of market trades, as far as daily bars are concerned."""

    tz: str                      # IANA name, sent as exchangeTimezoneName
    open_time: dt.time           # bar timestamp = this local time
    session_seconds: int         # open -> close, for regularMarketTime
    every_day: bool              # crypto trades at weekends
    currency: str
    instrument_type: str
    exchange_name: str
    full_exchange_name: str
    price_range: tuple[float, float]
    volume_range: tuple[float, float]
    volatility: float            # scales swings and daily noise
    extended_hours: bool = False  # US pre/post market

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)  # ZoneInfo caches instances per key


_US = dict(tz="America/New_York", open_time=dt.time(9, 30),
           session_seconds=23400, every_day=False, currency="USD",
           extended_hours=True)
EQUITY_US = Profile(**_US, instrument_type="EQUITY", exchange_name="NMS",
                    full_exchange_name="NasdaqGS", price_range=(10, 600),
                    volume_range=(1e6, 9e7), volatility=1.0)
ETF_US = Profile(**_US, instrument_type="ETF", exchange_name="PCX",
                 full_exchange_name="NYSEArca", price_range=(30, 500),
                 volume_range=(1e6, 8e7), volatility=0.6)
INDEX_US = Profile(**_US, instrument_type="INDEX", exchange_name="SNP",
                   full_exchange_name="SNP", price_range=(1000, 20000),
                   volume_range=(2e9, 6e9), volatility=0.6)
CRYPTO = Profile(tz="UTC", open_time=dt.time(0, 0), session_seconds=86340,
                 every_day=True, currency="USD",
                 instrument_type="CRYPTOCURRENCY", exchange_name="CCC",
                 full_exchange_name="CCC", price_range=(0.05, 5000),
                 volume_range=(1e8, 4e10), volatility=1.8)
FX = Profile(tz="Europe/London", open_time=dt.time(0, 0),
             session_seconds=86340, every_day=False, currency="USD",
             instrument_type="CURRENCY", exchange_name="CCY",
             full_exchange_name="CCY", price_range=(0.5, 2.0),
             volume_range=(0, 0), volatility=0.25)
SUFFIX_PROFILES = {
    ".L": Profile(tz="Europe/London", open_time=dt.time(8, 0),
                  session_seconds=30600, every_day=False, currency="GBp",
                  instrument_type="EQUITY", exchange_name="LSE",
                  full_exchange_name="LSE", price_range=(100, 5000),
                  volume_range=(1e5, 5e7), volatility=0.9),
    ".AX": Profile(tz="Australia/Sydney", open_time=dt.time(10, 0),
                   session_seconds=21600, every_day=False, currency="AUD",
                   instrument_type="EQUITY", exchange_name="ASX",
                   full_exchange_name="ASX", price_range=(2, 150),
                   volume_range=(1e5, 2e7), volatility=0.9),
    ".T": Profile(tz="Asia/Tokyo", open_time=dt.time(9, 0),
                  session_seconds=21600, every_day=False, currency="JPY",
                  instrument_type="EQUITY", exchange_name="JPX",
                  full_exchange_name="Tokyo", price_range=(300, 12000),
                  volume_range=(1e5, 3e7), volatility=0.9),
    ".MI": Profile(tz="Europe/Rome", open_time=dt.time(9, 0),
                   session_seconds=30600, every_day=False, currency="EUR",
                   instrument_type="EQUITY", exchange_name="MIL",
                   full_exchange_name="Milan", price_range=(1, 80),
                   volume_range=(1e5, 4e7), volatility=0.9),
}
CRYPTO_QUOTES = ("-USD", "-EUR", "-GBP")
ETFS = frozenset({"SPY", "QQQ", "IWM", "VTI", "VOO", "DIA", "GLD", "TLT",
                  "EEM", "XLF"})

#: Realistic price levels for symbols tests are likely to look at.
KNOWN_LEVELS = {
    "AAPL": 185.0, "AMD": 140.0, "MSFT": 400.0, "BRK-B": 410.0,
    "SPY": 500.0, "^GSPC": 5000.0, "^DJI": 38000.0, "^IXIC": 16000.0,
    "BTC-USD": 45000.0, "ETH-USD": 2500.0, "EURUSD=X": 1.08,
    "GBPUSD=X": 1.27, "USDJPY=X": 150.0, "JPY=X": 150.0,
}
KNOWN_NAMES = {
    "AAPL": "Apple Inc.", "AMD": "Advanced Micro Devices, Inc.",
    "MSFT": "Microsoft Corporation", "BRK-B": "Berkshire Hathaway Inc.",
    "SPY": "SPDR S&P 500 ETF Trust", "^GSPC": "S&P 500",
    "^DJI": "Dow Jones Industrial Average", "^IXIC": "NASDAQ Composite",
    "BHP.AX": "BHP Group Limited", "VOD.L": "Vodafone Group Public Limited "
    "Company",
}
#: firstTradeDate values as Yahoo reports them, where it matters.
KNOWN_FIRST_DAYS = {
    "AAPL": dt.date(1980, 12, 12), "AMD": dt.date(1980, 3, 17),
    "BTC-USD": dt.date(2014, 9, 17), "ETH-USD": dt.date(2017, 11, 9),
}


def profile_for(symbol: str) -> Profile:
    """Pick the market profile from the symbol's shape."""
    if symbol.endswith("=X"):
        # EURUSD=X quotes USD per EUR: the currency is the quote currency,
        # i.e. the three letters before "=X".
        return _with(FX, currency=symbol[:-2][-3:])
    for quote in CRYPTO_QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return _with(CRYPTO, currency=quote[1:])
    for suffix, profile in SUFFIX_PROFILES.items():
        if symbol.endswith(suffix) and len(symbol) > len(suffix):
            return profile
    if symbol.startswith("^"):
        return INDEX_US
    if symbol in ETFS:
        return ETF_US
    return EQUITY_US


def _with(profile: Profile, **changes: Any) -> Profile:
    fields = dict(profile.__dict__)
    fields.update(changes)
    return Profile(**fields)


# --------------------------------------------------------------------------
# Deterministic price series
# --------------------------------------------------------------------------

class Bar(NamedTuple):
    ts: int
    open: float
    high: float
    low: float
    close: float
    adjclose: float
    volume: int


def _units(*parts: str) -> list[float]:
    """Eight uniform numbers in [0, 1) derived from the parts (stable)."""
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=32).digest()
    return [int.from_bytes(digest[i:i + 4], "big") / 2 ** 32
            for i in range(0, 32, 4)]


def _f32(value: float, decimals: int) -> float:
    """Round like a quote, then to float32 as Yahoo stores it.

    Yahoo's doubles are float32 values widened, e.g. 143.88 is sent as
    143.8800048828125.  Both steps are monotonic, so low <= open <= high
    survives them.
    """
    return struct.unpack("f", struct.pack("f", round(value, decimals)))[0]


class Instrument:
    """Everything derived from the symbol alone.

    A bar is a pure function of (symbol, date): the close is a base level
    modulated by a few slow sine waves with symbol-seeded phases plus hashed
    daily noise.  So the same symbol and date give the same bar whatever
    range was requested, without replaying a random walk from an origin.
    """

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.profile = p = profile_for(symbol)
        u = _units("instrument", symbol)
        lo, hi = p.price_range
        self.base = KNOWN_LEVELS.get(
            symbol, math.exp(math.log(lo) + u[0] * math.log(hi / lo)))
        self.phases = tuple(2 * math.pi * x for x in u[1:4])
        vlo, vhi = p.volume_range
        self.volume_base = vlo + u[4] * (vhi - vlo)
        self.decimals = 4 if p.instrument_type == "CURRENCY" or self.base < 2 \
            else 2
        if symbol in KNOWN_FIRST_DAYS:
            self.first_day = KNOWN_FIRST_DAYS[symbol]
        elif p.instrument_type == "CURRENCY":
            self.first_day = dt.date(2003, 12, 1)
        elif p.instrument_type == "CRYPTOCURRENCY":
            self.first_day = dt.date(2014, 9, 17) + int(u[5] * 2500) * ONE_DAY
        else:
            self.first_day = dt.date(1985, 1, 2) + int(u[5] * 9000) * ONE_DAY
        self.long_name = KNOWN_NAMES.get(symbol) or {
            "CURRENCY": f"{symbol[:3]}/{p.currency}",
            "CRYPTOCURRENCY": f"{symbol.split('-')[0]} {p.currency}",
            "INDEX": f"{symbol[1:]} Index",
        }.get(p.instrument_type, f"{symbol.split('.')[0]} Holdings Inc.")

    # -- calendar ----------------------------------------------------------

    def is_trading_day(self, day: dt.date) -> bool:
        return self.profile.every_day or day.weekday() < 5

    def session_open(self, day: dt.date) -> int:
        """The bar timestamp: session open in the exchange zone, as UTC."""
        local = dt.datetime.combine(day, self.profile.open_time,
                                    tzinfo=self.profile.zone)
        return int(local.timestamp())

    def local_date(self, ts: float) -> dt.date:
        return dt.datetime.fromtimestamp(ts, self.profile.zone).date()

    # -- prices ------------------------------------------------------------

    def bar(self, day: dt.date) -> Bar:
        vol = self.profile.volatility
        n = day.toordinal()
        a, b, c = self.phases
        u = _units("bar", self.symbol, day.isoformat())
        swing = vol * (0.30 * math.sin(2 * math.pi * n / 911 + a)
                       + 0.12 * math.sin(2 * math.pi * n / 263 + b)
                       + 0.05 * math.sin(2 * math.pi * n / 59 + c))
        close = self.base * math.exp(swing + vol * 0.012 * (2 * u[0] - 1))
        open_ = close * math.exp(vol * 0.008 * (2 * u[1] - 1))
        high = max(open_, close) * (1 + vol * 0.010 * u[2])
        low = min(open_, close) * (1 - vol * 0.010 * u[3])
        d = self.decimals
        volume = int(self.volume_base * (0.5 + u[4]))
        # adjclose is also dividend-adjusted: a little below close.
        return Bar(self.session_open(day), _f32(open_, d), _f32(high, d),
                   _f32(low, d), _f32(close, d), _f32(close * 0.99, d),
                   volume)

    def bars(self, start_ts: float, end_ts: float,
             first_day: dt.date) -> list[Bar]:
        """Bars with start_ts <= timestamp < end_ts, none before first_day."""
        if end_ts <= start_ts:
            return []
        # One day of slack each side: the local date of a bar and the UTC
        # date of its timestamp differ for Sydney and London FX.
        day = max(first_day, self.local_date(max(start_ts, 0)) - ONE_DAY)
        last = self.local_date(end_ts) + ONE_DAY
        out = []
        while day <= last:
            if self.is_trading_day(day):
                ts = self.session_open(day)
                if start_ts <= ts < end_ts:
                    out.append(self.bar(day))
            day += ONE_DAY
        return out

    def trading_day_before(self, day: dt.date) -> dt.date:
        day -= ONE_DAY
        while not self.is_trading_day(day):
            day -= ONE_DAY
        return day

    def last_bar_at(self, now: float, first_day: dt.date) -> Bar | None:
        """The most recent bar whose session opened at or before now."""
        day = self.local_date(now) + ONE_DAY
        for _ in range(10):
            if day < first_day:
                return None
            if self.is_trading_day(day) and self.session_open(day) <= now:
                return self.bar(day)
            day -= ONE_DAY
        return None


@functools.lru_cache(maxsize=256)
def instrument(symbol: str) -> Instrument:
    return Instrument(symbol)


def _minus_months(local: dt.datetime, months: int) -> dt.datetime:
    total = local.year * 12 + local.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    # Clamp the day (31 March minus one month is 29 February or 28th).
    day = local.day
    while True:
        try:
            return local.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


def range_start(label: str, now: float, zone: ZoneInfo,
                first_ts: float) -> float:
    """Unix time where a range=LABEL request starts, like Yahoo."""
    if label == "max":
        return first_ts
    local = dt.datetime.fromtimestamp(now, zone)
    if label == "ytd":
        return dt.datetime(local.year, 1, 1, tzinfo=zone).timestamp()
    if label in RANGE_DAYS:
        return (local - RANGE_DAYS[label] * ONE_DAY).timestamp()
    return _minus_months(local, RANGE_MONTHS[label]).timestamp()


# --------------------------------------------------------------------------
# Chart document
# --------------------------------------------------------------------------

class BadRequest(Exception):
    """Answered with Yahoo's 400 shape."""


@dataclass
class ChartQuery:
    start: float
    end: float
    range_label: str      # "" for period1/period2 requests, as Yahoo does


def parse_chart_query(query: dict[str, str], inst: Instrument,
                      first_day: dt.date, now: float) -> ChartQuery:
    interval = query.get("interval", "1d")
    if interval != "1d":
        raise BadRequest(f"Invalid input - interval={interval} is not "
                         "supported by fake-yahoo. Valid intervals: [1d]")
    first_ts = inst.session_open(first_day)
    if "period1" in query or "period2" in query:
        try:
            start = int(query["period1"])
            end = int(query.get("period2", int(now)))
        except (KeyError, ValueError):
            raise BadRequest("Invalid input - period1 and period2 must be "
                             "integers (unix seconds)") from None
        if start > end:
            raise BadRequest("Invalid input - start date cannot be after "
                             "end date.")
        return ChartQuery(start, end, "")
    label = query.get("range")
    if label is None:
        raise BadRequest("Invalid input - range or period1/period2 required")
    if label not in VALID_RANGES:
        raise BadRequest(f"Invalid input - range={label} is not supported. "
                         f"Valid ranges: {VALID_RANGES}")
    return ChartQuery(range_start(label, now, inst.profile.zone, first_ts),
                      math.inf, label)


def chart_result(inst: Instrument, q: ChartQuery, first_day: dt.date,
                 now: float) -> tuple[dict, list[Bar]]:
    """Build result[0] without indicators; returns it and the bars."""
    p = inst.profile
    # Only bars whose session has opened: nothing from the future.
    bars = inst.bars(q.start, min(q.end, math.floor(now) + 1), first_day)
    zone = p.zone
    local_now = dt.datetime.fromtimestamp(now, zone)
    offset = int(local_now.utcoffset().total_seconds())

    latest = inst.last_bar_at(now, first_day) or inst.bar(first_day)
    if bars:
        before = inst.trading_day_before(inst.local_date(bars[0].ts))
        prev_close = (inst.bar(before).close if before >= first_day
                      else bars[0].open)
    else:
        prev_close = latest.close
    # During the session the market time is "now", otherwise the close.
    market_time = min(int(now), latest.ts + p.session_seconds)

    today_open = inst.session_open(local_now.date())
    today_close = today_open + p.session_seconds
    pre_start = today_open - (19800 if p.extended_hours else 0)
    post_end = today_close + (14400 if p.extended_hours else 0)

    def period(start: int, end: int) -> dict:
        return {"timezone": local_now.tzname(), "end": end, "start": start,
                "gmtoffset": offset}

    meta = {
        "currency": p.currency,
        "symbol": inst.symbol,
        "exchangeName": p.exchange_name,
        "fullExchangeName": p.full_exchange_name,
        "instrumentType": p.instrument_type,
        "firstTradeDate": inst.session_open(first_day),
        "regularMarketTime": market_time,
        "hasPrePostMarketData": p.extended_hours,
        "gmtoffset": offset,
        "timezone": local_now.tzname(),
        "exchangeTimezoneName": p.tz,
        "regularMarketPrice": latest.close,
        "regularMarketDayHigh": latest.high,
        "regularMarketDayLow": latest.low,
        "regularMarketVolume": latest.volume,
        "longName": inst.long_name,
        "shortName": inst.long_name,
        "chartPreviousClose": prev_close,
        "priceHint": inst.decimals,
        "currentTradingPeriod": {
            "pre": period(pre_start, today_open),
            "regular": period(today_open, today_close),
            "post": period(today_close, post_end),
        },
        "dataGranularity": "1d",
        "range": q.range_label,
        "validRanges": VALID_RANGES,
    }
    return {"meta": meta}, bars


def attach_bars(result: dict, bars: list[Bar]) -> None:
    """Add timestamp and indicators; the 'empty' shape when no bars."""
    if not bars:
        # What Yahoo sends for a window without trading: no timestamp key.
        result["indicators"] = {"quote": [{}], "adjclose": [{}]}
        return
    result["timestamp"] = [b.ts for b in bars]
    result["indicators"] = {
        "quote": [{
            # Yahoo's key order.
            "open": [b.open for b in bars],
            "close": [b.close for b in bars],
            "volume": [b.volume for b in bars],
            "low": [b.low for b in bars],
            "high": [b.high for b in bars],
        }],
        "adjclose": [{"adjclose": [b.adjclose for b in bars]}],
    }


def apply_data_fault(fault: str | None, inst: Instrument, result: dict,
                     bars: list[Bar]) -> None:
    """Mutate a built result for the faults that corrupt the data."""
    if fault == "duplicate_last" and bars:
        last = bars[-1]
        # The live bar: same local day, later time, slightly different
        # values (Yahoo repeats the day with regularMarketTime).
        later = last.ts + min(inst.profile.session_seconds, 6 * 3600)
        bars.append(last._replace(
            ts=later, close=_f32(last.close * 1.004, inst.decimals),
            high=_f32(max(last.high, last.close * 1.004), inst.decimals),
            adjclose=_f32(last.close * 1.004 * 0.99, inst.decimals),
            volume=last.volume // 3))
    attach_bars(result, bars)
    if not bars:
        return
    quote = result["indicators"]["quote"][0]
    adj = result["indicators"]["adjclose"][0]["adjclose"]
    if fault == "mismatched_lengths":
        quote["close"].pop()
    elif fault == "nulls":
        # Yahoo really nulls whole bars while keeping their timestamps.
        for i in range(4, len(bars), 5):
            for key in ("open", "high", "low", "close", "volume"):
                quote[key][i] = None
            adj[i] = None
    elif fault == "nan_negative":
        for i in range(len(bars)):
            if i % 6 == 2:
                quote["close"][i] = -quote["close"][i]
            elif i % 6 == 4:
                # json.dumps writes float NaN as the bare token NaN.
                quote["open"][i] = math.nan
                quote["close"][i] = math.nan
                adj[i] = math.nan


def chart_body(result: dict) -> bytes:
    doc = {"chart": {"result": [result], "error": None}}
    return json.dumps(doc, separators=(",", ":")).encode()


def bad_request_body(message: str) -> bytes:
    doc = {"chart": {"result": None,
                     "error": {"code": "Bad Request", "description": message}}}
    return json.dumps(doc, separators=(",", ":")).encode()


# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------

def _validate_options(opts: Any, where: str) -> dict:
    """Check one options object from the control API; returns it."""
    if not isinstance(opts, dict):
        raise ValueError(f"{where}: options must be an object")
    for key, value in opts.items():
        if key not in OPTION_KEYS:
            raise ValueError(f"{where}: unknown option {key!r}; "
                             f"known: {sorted(OPTION_KEYS)}")
        if value is None:
            continue
        if key == "status" and value not in ("ok", "unknown"):
            raise ValueError(f"{where}: status must be 'ok' or 'unknown'")
        if key == "fault" and value not in FAULTS:
            raise ValueError(f"{where}: unknown fault {value!r}; "
                             f"known: {sorted(FAULTS)}")
        if key == "listed":
            try:
                dt.date.fromisoformat(value)
            except (TypeError, ValueError):
                raise ValueError(f"{where}: listed must be YYYY-MM-DD") \
                    from None
        if key in ("fault_times", "retry_after", "huge_bytes") and (
                isinstance(value, bool) or not isinstance(value, int)
                or value < 0):
            raise ValueError(f"{where}: {key} must be a non-negative integer")
        if key == "delay_ms" and (isinstance(value, bool) or not isinstance(
                value, (int, float)) or value < 0):
            raise ValueError(f"{where}: delay_ms must be a non-negative "
                             "number")
    return opts


def _merge(target: dict, opts: dict) -> None:
    """Merge options into a settings dict; None deletes."""
    # Changing the fault without a count means "forever": a stale,
    # exhausted fault_times must not silently disable the new fault.
    if "fault" in opts and "fault_times" not in opts:
        target.pop("fault_times", None)
    for key, value in opts.items():
        if value is None:
            target.pop(key, None)
            if key == "fault":
                target.pop("fault_times", None)
        else:
            target[key] = value


def _normalize_symbol(symbol: str) -> str:
    return symbol.strip().upper()


# --------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------

class _Server(ThreadingHTTPServer):
    """Threading server that tracks connections so stop() can cut them."""

    daemon_threads = True

    def __init__(self, address, app: "FakeYahoo",
                 ssl_context: ssl.SSLContext | None) -> None:
        self.app = app
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._closing = False
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        if ssl_context is not None:
            # Handshakes happen in the handler thread (see _Handler.setup),
            # so a client that never speaks TLS cannot stall accept().
            self.socket = ssl_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS
        # lookup that can stall for seconds in a sandbox without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port

    def process_request(self, request, client_address) -> None:
        with self._conns_lock:
            closing = self._closing
            if not closing:
                self._conns.add(request)
        if closing:
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def cut_all_connections(self) -> None:
        """Shut down every open connection so blocked handlers return."""
        with self._conns_lock:
            self._closing = True
            conns = list(self._conns)
        for conn in conns:
            try:
                # The raw socket call, not SSLSocket.shutdown, which would
                # tear down SSL state under a handler thread's feet.  The
                # handler thread then sees EOF and closes the socket itself.
                socket.socket.shutdown(conn, socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        # Clients (and stop()) cut connections all the time in these tests;
        # anything else is a bug in the fake and is printed even when quiet.
        if isinstance(exc, OSError) or (isinstance(exc, ValueError)
                                        and "closed" in str(exc)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive; every reply has a length
    server_version = "fake-yahoo/1.0"
    sys_version = ""

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def version_string(self) -> str:
        return self.server_version     # no Python version, no stray space

    def do_GET(self) -> None:
        self.server.app._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.app._handle(self, "POST")

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.app.quiet:
            super().log_message(format, *args)


def _peer_closed(sock: socket.socket) -> bool:
    """True when the client has gone away (plain sockets only)."""
    if isinstance(sock, ssl.SSLSocket):
        return False   # MSG_PEEK is not available through TLS
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


# --------------------------------------------------------------------------
# The fake server
# --------------------------------------------------------------------------

class FakeYahoo:
    """A fake Yahoo chart server, in a background thread.

    ``FakeYahoo(host='127.0.0.1', port=0, tls_cert=None, tls_key=None,
    unknown=(), quiet=True)``; ``start()``, ``stop()``, ``port``,
    ``base_url``.  ``unknown`` symbols answer 404 from the start (and again
    after ``reset()``).

    Options, per symbol via ``set_symbol(sym, **opts)`` or for every symbol
    without its own value via ``set_global(**opts)``; None deletes:

    - ``status``: "ok" | "unknown" (404, Yahoo's not-found body).
    - ``listed``: "YYYY-MM-DD", no bars before it (also firstTradeDate).
    - ``fault``: one of ``FAULTS``; "none" disables a global fault.
    - ``fault_times``: N, the fault hits the next N requests, then stops.
      Counted where the fault is set: a global count is shared by all
      symbols.  Setting ``fault`` without ``fault_times`` means forever.
    - ``delay_ms``: sleep before answering.
    - ``retry_after``: seconds, sent as Retry-After with http_429.
    - ``huge_bytes``: body size for the huge fault (default 50 MB).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 tls_cert: str | None = None, tls_key: str | None = None,
                 unknown: tuple[str, ...] | list[str] = (),
                 quiet: bool = True) -> None:
        self.host = host
        self._want_port = port
        self.tls = tls_cert is not None
        self._ssl_context = None
        if tls_cert is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            self._ssl_context = ctx
        self.quiet = quiet
        self._baseline = {_normalize_symbol(s): {"status": "unknown"}
                          for s in unknown if s.strip()}
        # One condition guards all mutable state; hung handlers wait on it
        # and every settings change wakes them to re-check.
        self._cond = threading.Condition()
        self._global: dict = {}
        self._symbols: dict = {}
        self._log: list[dict] = []
        self._now: float | None = None
        self._generation = 0           # bumped by reset(): releases hangs
        self._stopping = False
        self._stop_event = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> "FakeYahoo":
        self._server = _Server((self.host, self._want_port), self,
                               self._ssl_context)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name="fake-yahoo", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; returns promptly even with hung clients."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._stop_event.set()
        if self._server is None:
            return
        self._server.shutdown()          # ends serve_forever
        self._server.server_close()      # closes the listening socket
        self._server.cut_all_connections()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeYahoo":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    # -- control API (Python side) ----------------------------------------

    def set_symbol(self, symbol: str, **opts: Any) -> None:
        self.configure({"symbols": {symbol: opts}})

    def set_global(self, **opts: Any) -> None:
        self.configure({"global": opts})

    def set_now(self, now: float | None) -> None:
        """Pretend the clock reads NOW (unix seconds); None = real time."""
        self.configure({"now": now})

    def configure(self, body: Any) -> dict:
        """Apply a /_control body; raises ValueError when it is invalid."""
        if not isinstance(body, dict):
            raise ValueError("control body must be a JSON object")
        unknown = set(body) - {"global", "symbols", "now"}
        if unknown:
            raise ValueError(f"unknown control keys: {sorted(unknown)}")
        glob = _validate_options(body.get("global") or {}, "global")
        symbols = body.get("symbols") or {}
        if not isinstance(symbols, dict):
            raise ValueError("symbols must be an object")
        symbols = {_normalize_symbol(s): _validate_options(o, s)
                   for s, o in symbols.items()}
        now = body.get("now")
        if "now" in body and now is not None and (
                isinstance(now, bool) or not isinstance(now, (int, float))):
            raise ValueError("now must be unix seconds or null")
        with self._cond:
            _merge(self._global, glob)
            for symbol, opts in symbols.items():
                target = self._symbols.setdefault(symbol, {})
                _merge(target, opts)
                if not target:
                    del self._symbols[symbol]
            if "now" in body:
                self._now = now
            self._cond.notify_all()      # hung handlers re-check their fault
            return self._state_locked()

    def state(self) -> dict:
        with self._cond:
            return self._state_locked()

    def requests(self, symbol: str | None = None) -> list[dict]:
        """Chart requests so far, in arrival order (copies)."""
        with self._cond:
            log = [e for e in self._log
                   if symbol is None or e["symbol"] == _normalize_symbol(
                       symbol)]
            return copy.deepcopy(log)

    def reset(self) -> None:
        """Start-up settings, empty log, real clock; releases hangs."""
        with self._cond:
            self._global = {}
            self._symbols = copy.deepcopy(self._baseline)
            self._log = []
            self._now = None
            self._generation += 1
            self._cond.notify_all()

    def _state_locked(self) -> dict:
        return {"global": copy.deepcopy(self._global),
                "symbols": copy.deepcopy(self._symbols), "now": self._now}

    # -- option resolution -------------------------------------------------

    def _fault_source(self, symbol: str) -> dict:
        own = self._symbols.get(symbol, {})
        return own if "fault" in own else self._global

    def _resolve_locked(self, symbol: str) -> dict:
        """Effective options for one request; consumes a fault count."""
        own = self._symbols.get(symbol, {})
        eff = {key: own.get(key, self._global.get(key))
               for key in ("status", "listed", "delay_ms", "retry_after",
                           "huge_bytes")}
        source = self._fault_source(symbol)
        fault = source.get("fault")
        remaining = source.get("fault_times")
        if fault is not None and remaining is not None:
            if remaining > 0:
                source["fault_times"] = remaining - 1
            else:
                fault = None
        eff["fault"] = None if fault == "none" else fault
        return eff

    def _released(self, symbol: str, fault: str, generation: int) -> bool:
        """Whether a hung/slow connection should be let go (lock held)."""
        return (self._stopping or self._generation != generation
                or self._fault_source(symbol).get("fault") != fault)

    def _wait_released(self, symbol: str, fault: str, generation: int,
                       timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._released(symbol, fault, generation):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def _clock(self) -> float:
        with self._cond:
            return time.time() if self._now is None else self._now

    # -- request handling --------------------------------------------------

    def _handle(self, h: _Handler, method: str) -> None:
        url = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(url.query,
                                            keep_blank_values=True))
        body = b""
        if method == "POST":
            length = int(h.headers.get("Content-Length") or 0)
            body = h.rfile.read(length) if length else b""
        if method == "GET" and url.path.startswith(CHART_PREFIX):
            self._handle_chart(h, url.path, query)
        elif method == "GET" and url.path == "/_health":
            self._send(h, 200, b"ok", TEXT_TYPE)
        elif method == "GET" and url.path == "/_requests":
            self._send_json(h, 200, self.requests(query.get("symbol")))
        elif method == "GET" and url.path == "/_control":
            self._send_json(h, 200, self.state())
        elif method == "POST" and url.path == "/_control":
            try:
                state = self.configure(json.loads(body or b"{}"))
            except ValueError as exc:   # includes JSONDecodeError
                self._send_json(h, 400, {"error": str(exc)})
                return
            self._send_json(h, 200, state)
        elif method == "POST" and url.path == "/_reset":
            self.reset()
            self._send_json(h, 200, {"ok": True})
        else:
            self._send(h, 404, b'{"finance":{"result":null,"error":{"code":'
                       b'"Not Found","description":"HTTP 404 Not Found"}}}',
                       JSON_TYPE)

    def _handle_chart(self, h: _Handler, path: str,
                      query: dict[str, str]) -> None:
        symbol = _normalize_symbol(
            urllib.parse.unquote(path[len(CHART_PREFIX):]))
        entry = {"symbol": symbol, "path": path, "query": query,
                 "t": time.time(), "status": None,
                 "user_agent": h.headers.get("User-Agent"),
                 "accept_encoding": h.headers.get("Accept-Encoding")}
        with self._cond:
            self._log.append(entry)
            opts = self._resolve_locked(symbol)
            generation = self._generation

        def status(code: int | None) -> None:
            with self._cond:
                entry["status"] = code

        if opts["delay_ms"]:
            if self._stop_event.wait(opts["delay_ms"] / 1000):
                h.close_connection = True
                return
        fault = opts["fault"]
        gz = "gzip" in (h.headers.get("Accept-Encoding") or "").lower()

        # Transport-level faults come before anything symbol-specific.
        if fault == "hang":
            # Request read; now say nothing until released or abandoned.
            while not self._wait_released(symbol, "hang", generation, 0.25):
                if _peer_closed(h.connection):
                    break
            h.close_connection = True
            return
        if fault in ("http_500", "http_503"):
            code = int(fault[-3:])
            status(code)
            page = ERROR_PAGE.format(code=code,
                                     reason=h.responses[code][0]).encode()
            self._send(h, code, page, HTML_TYPE, gz=gz)
            return
        if fault == "http_429":
            status(429)
            headers = {}
            if opts["retry_after"] is not None:
                headers["Retry-After"] = str(opts["retry_after"])
            self._send(h, 429, b"Too Many Requests", TEXT_TYPE, headers,
                       gz=gz)
            return
        if fault == "html":
            status(200)
            self._send(h, 200, CONSENT_PAGE, HTML_TYPE, gz=gz)
            return
        if fault == "not_json":
            status(200)
            self._send(h, 200, b"Service Unavailable", JSON_TYPE, gz=gz)
            return
        if fault == "result_null":
            status(200)
            self._send(h, 200, RESULT_NULL_BODY, JSON_TYPE, gz=gz)
            return

        if opts["status"] == "unknown" or not symbol:
            status(404)
            self._send(h, 404, NOT_FOUND_BODY, JSON_TYPE, gz=gz)
            return

        inst = instrument(symbol)
        first_day = inst.first_day
        if opts["listed"]:
            first_day = dt.date.fromisoformat(opts["listed"])
        now = self._clock()
        try:
            q = parse_chart_query(query, inst, first_day, now)
        except BadRequest as exc:
            status(400)
            self._send(h, 400, bad_request_body(str(exc)), JSON_TYPE, gz=gz)
            return
        result, bars = chart_result(inst, q, first_day, now)

        if fault == "huge":
            status(200)
            self._send_huge(h, result["meta"],
                            opts["huge_bytes"] or DEFAULT_HUGE_BYTES)
            return
        if fault == "empty":
            bars = []
        apply_data_fault(fault, inst, result, bars)
        payload = chart_body(result)
        status(200)
        if fault == "slow_loris":
            self._send_slow(h, symbol, generation, payload)
            return
        if fault == "truncated":
            payload = payload[:len(payload) // 2]
        self._send(h, 200, payload, JSON_TYPE, gz=gz)

    # -- response writers --------------------------------------------------

    def _send(self, h: _Handler, code: int, body: bytes, ctype: str,
              headers: dict[str, str] | None = None, gz: bool = False) -> None:
        if gz:
            body = gzip.compress(body, compresslevel=6, mtime=0)
        h.send_response(code)
        h.send_header("Content-Type", ctype)
        if gz:
            h.send_header("Content-Encoding", "gzip")
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.send_header("Cache-Control", "public, max-age=10")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _send_json(self, h: _Handler, code: int, doc: Any) -> None:
        self._send(h, code, json.dumps(doc).encode(), JSON_TYPE)

    def _send_huge(self, h: _Handler, meta: dict, size: int) -> None:
        """Stream a valid JSON document of exactly SIZE bytes (or the minimum).

        Never gzipped: the point is the size on the wire.
        """
        prefix = (b'{"chart":{"result":[{"meta":'
                  + json.dumps(meta, separators=(",", ":")).encode()
                  + b',"timestamp":[')
        item = str(meta["firstTradeDate"]).encode() + b","
        last = item[:-1]
        suffix = (b'],"indicators":{"quote":[{"open":[],"close":[],'
                  b'"volume":[],"low":[],"high":[]}],"adjclose":[{"adjclose"'
                  b':[]}]}}],"error":null}}')
        fixed = len(prefix) + len(last) + len(suffix)
        size = max(size, fixed)
        count, padding = divmod(size - fixed, len(item))
        h.send_response(200)
        h.send_header("Content-Type", JSON_TYPE)
        h.send_header("Content-Length", str(size))
        h.end_headers()
        h.wfile.write(prefix)
        block = item * 8192
        per_block = 8192
        while count > 0:
            if self._stop_event.is_set():
                h.close_connection = True
                return
            n = min(count, per_block)
            h.wfile.write(block if n == per_block else item * n)
            count -= n
        # Whitespace is valid JSON: it makes the length exact.
        h.wfile.write(last + b" " * padding + suffix)

    def _send_slow(self, h: _Handler, symbol: str, generation: int,
                   payload: bytes) -> None:
        """Headers promising SLOW_LORIS_LENGTH bytes, then a byte a second."""
        h.send_response(200)
        h.send_header("Content-Type", JSON_TYPE)
        h.send_header("Content-Length", str(SLOW_LORIS_LENGTH))
        h.end_headers()
        h.close_connection = True
        for i in range(SLOW_LORIS_LENGTH):
            h.wfile.write(payload[i:i + 1] or b" ")
            if self._wait_released(symbol, "slow_loris", generation, 1.0):
                return


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def _write_port_file(path: str, port: int) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)    # atomic: readers never see a partial number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Fake Yahoo Finance chart API (v8) for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0,
                        help="0 picks a free port")
    parser.add_argument("--port-file",
                        help="write the bound port here once listening")
    parser.add_argument("--tls-cert", help="server certificate (PEM)")
    parser.add_argument("--tls-key", help="server private key (PEM)")
    parser.add_argument("--unknown", default="",
                        help="comma-separated symbols answering 404")
    parser.add_argument("--quiet", action="store_true",
                        help="no access log on stderr")
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")

    done = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    fake = FakeYahoo(args.host, args.port, args.tls_cert, args.tls_key,
                     unknown=args.unknown.split(","), quiet=args.quiet)
    fake.start()
    if args.port_file:
        _write_port_file(args.port_file, fake.port)
    print(f"fake-yahoo listening on {fake.base_url}", flush=True)
    try:
        # wait() with a timeout so signal handlers run promptly.
        while not done.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
