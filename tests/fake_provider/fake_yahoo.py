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
``OPTION_KEYS`` and ``FAULTS`` in ``yahoo_settings`` and the ``FakeYahoo``
docstring.

This module is the ``FakeYahoo`` class (its state, control API and fault
dispatch) and the command line.  The rest lives beside it; every public
name is still importable from here:

    yahoo_calendar    profiles, instruments, trading days and bars
    yahoo_chart_body  bodies, query parsing, chart result JSON, data faults
    yahoo_settings    options, faults, validation and per-request resolution
    fake_http         threaded server, handler, start/stop, reply writers
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.parse
from typing import Any

# Everything these modules make public is re-exported: tests, the harness
# and bench import it all from fake_yahoo.
from fake_http import (ResponseWriterMixin, ServerLifecycleMixin, _Handler,
                       _peer_closed, _Server)
from yahoo_calendar import (  # noqa: F401
    CRYPTO, CRYPTO_QUOTES, EQUITY_US, ETF_US, ETFS, FX, INDEX_US,
    KNOWN_FIRST_DAYS, KNOWN_LEVELS, KNOWN_NAMES, ONE_DAY, RANGE_DAYS,
    RANGE_MONTHS, SUFFIX_PROFILES, VALID_RANGES, Bar, Instrument, Profile,
    instrument, profile_for, range_start)
from yahoo_chart_body import (  # noqa: F401
    CONSENT_PAGE, ERROR_PAGE, HTML_TYPE, JSON_TYPE, NOT_FOUND_BODY,
    RESULT_NULL_BODY, TEXT_TYPE, BadRequest, ChartQuery, apply_data_fault,
    attach_bars, bad_request_body, chart_body, chart_result,
    parse_chart_query)
from yahoo_settings import (  # noqa: F401
    DEFAULT_HUGE_BYTES, FAULTS, OPTION_KEYS, SLOW_LORIS_LENGTH,
    OptionResolutionMixin, _merge, _normalize_symbol, _validate_options)

CHART_PREFIX = "/v8/finance/chart/"


# --------------------------------------------------------------------------
# The fake server
# --------------------------------------------------------------------------

class FakeYahoo(ServerLifecycleMixin, OptionResolutionMixin,
                ResponseWriterMixin):
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

    # Start, stop, port and base_url are in fake_http.ServerLifecycleMixin.

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

    # Option resolution is in yahoo_settings.OptionResolutionMixin.

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

    # The response writers are in fake_http.ResponseWriterMixin.


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
