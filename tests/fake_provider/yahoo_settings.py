"""Fake Yahoo, the control API's settings: options, faults, resolution.

The option names and fault catalogue the control API accepts, their
validation and merging, and how one chart request resolves its effective
options (fault counts, release of hung connections, the fake clock).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

# --------------------------------------------------------------------------
# Options and faults
# --------------------------------------------------------------------------

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
    "huge_bytes", "events", "spikes",
})
DEFAULT_HUGE_BYTES = 50 * 1024 * 1024
#: Content-Length announced by the slow_loris fault.
SLOW_LORIS_LENGTH = 10 * 1024 * 1024


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
        if key in ("events", "spikes"):
            _validate_day_list(key, value, where)
    return opts


def _validate_day_list(key: str, value: Any, where: str) -> None:
    """events: [{"date", "dividend": amount} | {"date", "split": "N:D"}];
    spikes: [{"date", "close"}]."""
    if not isinstance(value, list):
        raise ValueError(f"{where}: {key} must be a list")
    for item in value:
        if not isinstance(item, dict) or "date" not in item:
            raise ValueError(f"{where}: each of {key} needs a date")
        try:
            dt.date.fromisoformat(item["date"])
        except (TypeError, ValueError):
            raise ValueError(f"{where}: {key} dates are YYYY-MM-DD") from None
        wanted = ({"close"} if key == "spikes"
                  else {"dividend"} if "dividend" in item else {"split"})
        if set(item) != wanted | {"date"}:
            raise ValueError(f"{where}: {key} items have date and "
                             f"{' or '.join(sorted(wanted))}")


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
# Per-request resolution
# --------------------------------------------------------------------------

class OptionResolutionMixin:
    """FakeYahoo's options and the release of hung connections.

    Fault counts and the clock are resolved by fake_control.ControlApiMixin
    with these options; this uses the host's ``_cond`` (held where a name
    says "locked"), ``_generation`` and ``_stopping``.
    """

    resolved_keys = ("status", "listed", "delay_ms", "retry_after",
                     "huge_bytes", "events", "spikes")
    _validate_options = staticmethod(_validate_options)
    _merge_options = staticmethod(_merge)

    def normalize(self, symbol: str) -> str:
        return _normalize_symbol(symbol)

    # -- release of hung connections ---------------------------------------

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
