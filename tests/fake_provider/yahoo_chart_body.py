"""Fake Yahoo, what goes on the wire: bodies, query parsing, chart JSON.

The fixed bodies and pages Yahoo sends, the parsing of a chart request's
query (range or period1/period2), the chart result document built from
``yahoo_calendar`` bars, and the faults that corrupt that data.  No
sockets: ``fake_yahoo`` decides which of these to send.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass

from yahoo_calendar import VALID_RANGES, Bar, Instrument, _f32, range_start

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


def _split_ratio(text: str) -> float:
    numerator, denominator = (float(x) for x in text.split(":"))
    return numerator / denominator


def apply_corporate_actions(inst: Instrument, result: dict, bars: list[Bar],
                            q: ChartQuery, now: float, events: list | None,
                            spikes: list | None) -> list[Bar]:
    """Yahoo's view of dividends, splits and bad prints.

    Every split that has happened by ``now`` adjusts all bars before it
    (prices divided by its ratio, volume multiplied), whatever the window:
    Yahoo serves the whole history on today's basis. The events whose
    session opened within the window go to ``result["events"]`` in Yahoo's
    shape (keyed by epoch strings). A spike replaces one day's close (and
    widens its high or low), as a bad print does.
    """
    d = inst.decimals
    happened = []
    for e in events or []:
        ts = inst.session_open(dt.date.fromisoformat(e["date"]))
        if ts <= now:
            happened.append((ts, e))
    for ts, e in happened:
        if "split" not in e:
            continue
        ratio = _split_ratio(e["split"])
        bars = [b._replace(open=_f32(b.open / ratio, d),
                           high=_f32(b.high / ratio, d),
                           low=_f32(b.low / ratio, d),
                           close=_f32(b.close / ratio, d),
                           adjclose=_f32(b.adjclose / ratio, d),
                           volume=int(b.volume * ratio))
                if b.ts < ts else b for b in bars]
    by_day = {inst.session_open(dt.date.fromisoformat(s["date"])): s["close"]
              for s in spikes or []}
    bars = [b._replace(close=by_day[b.ts], adjclose=by_day[b.ts],
                       low=min(b.low, by_day[b.ts]),
                       high=max(b.high, by_day[b.ts]))
            if b.ts in by_day else b for b in bars]
    dividends, splits = {}, {}
    for ts, e in happened:
        if not q.start <= ts < q.end:
            continue
        if "split" in e:
            numerator, denominator = (float(x) for x in e["split"].split(":"))
            splits[str(ts)] = {"date": ts, "numerator": numerator,
                               "denominator": denominator,
                               "splitRatio": e["split"]}
        else:
            dividends[str(ts)] = {"amount": e["dividend"], "date": ts}
    if dividends or splits:
        result["events"] = {}
        if dividends:
            result["events"]["dividends"] = dividends
        if splits:
            result["events"]["splits"] = splits
    return bars


def chart_body(result: dict) -> bytes:
    doc = {"chart": {"result": [result], "error": None}}
    return json.dumps(doc, separators=(",", ":")).encode()


def bad_request_body(message: str) -> bytes:
    doc = {"chart": {"result": None,
                     "error": {"code": "Bad Request", "description": message}}}
    return json.dumps(doc, separators=(",", ":")).encode()
