"""The scripted fakes' made-up data: deterministic prices and the data faults.

Whatever window a client asks for, one (symbol, day) always has the same
price, so that windows fetched at different times agree.  Standard library
only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math


def units(*parts: str) -> list[float]:
    """Eight uniform numbers in [0, 1) derived from the parts (stable)."""
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=32).digest()
    return [int.from_bytes(digest[i:i + 4], "big") / 2 ** 32
            for i in range(0, 32, 4)]


def level(symbol: str, day: dt.date, base: float, volatility: float) -> float:
    """A deterministic price for (symbol, day): slow waves plus daily noise.

    Whatever window is asked for, one day always has the same price.
    """
    a, b = (2 * math.pi * x for x in units("phase", symbol)[:2])
    n = day.toordinal()
    noise = units("day", symbol, day.isoformat())[0]
    swing = volatility * (0.3 * math.sin(2 * math.pi * n / 911 + a)
                          + 0.1 * math.sin(2 * math.pi * n / 97 + b)
                          + 0.01 * (2 * noise - 1))
    return base * math.exp(swing)


def days(first: dt.date, last: dt.date, weekdays_only: bool):
    day = first
    while day <= last:
        if not weekdays_only or day.weekday() < 5:
            yield day
        day += dt.timedelta(days=1)


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"not a date: {text!r}") from None


def spoil(values: list, fault: str | None) -> list:
    """Applies the nulls and nan_negative faults to a list of numbers.

    The result may hold ``math.nan``: serialize with ``allow_nan=True`` so
    that it goes out as the bare token NaN.
    """
    if fault == "nulls":
        return [None if i % 5 == 2 else v for i, v in enumerate(values)]
    if fault == "nan_negative":
        return [math.nan if i % 7 == 3 else -v if i % 7 == 5 else v
                for i, v in enumerate(values)]
    return values
