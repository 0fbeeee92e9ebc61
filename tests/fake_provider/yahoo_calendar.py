"""Fake Yahoo, the market calendar: profiles, instruments, trading days, bars.

Everything here is a pure function of the symbol and the date: which market
profile a symbol trades under (zone, session open, currency, kind), which
days it trades, its deterministic daily bars, and where a ``range=`` request
starts.  No HTTP, no settings; ``yahoo_chart_body`` turns these into JSON.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import struct
from dataclasses import dataclass
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

# --------------------------------------------------------------------------
# Ranges and days
# --------------------------------------------------------------------------

VALID_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y",
                "ytd", "max"]
RANGE_MONTHS = {"1mo": 1, "3mo": 3, "6mo": 6, "1y": 12, "2y": 24, "5y": 60,
                "10y": 120}
RANGE_DAYS = {"1d": 1, "5d": 5}
ONE_DAY = dt.timedelta(days=1)


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
