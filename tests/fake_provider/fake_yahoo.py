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
status, listed, fault, fault_times, delay_ms, retry_after, huge_bytes,
events, spikes.  See
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
import datetime as dt
import ssl
import sys
import threading
import time
import urllib.parse

from fake_control import (ControlApiMixin, add_listen_arguments,
                          add_symbol_arguments, serve)

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
    RESULT_NULL_BODY, TEXT_TYPE, BadRequest, ChartQuery,
    apply_corporate_actions, apply_data_fault, attach_bars, bad_request_body, chart_body, chart_result,
    parse_chart_query)
from yahoo_settings import (  # noqa: F401
    DEFAULT_HUGE_BYTES, FAULTS, OPTION_KEYS, SLOW_LORIS_LENGTH,
    OptionResolutionMixin, _merge, _normalize_symbol, _validate_options)

CHART_PREFIX = "/v8/finance/chart/"


# --------------------------------------------------------------------------
# The fake server
# --------------------------------------------------------------------------

class FakeYahoo(ServerLifecycleMixin, OptionResolutionMixin,
                ResponseWriterMixin, ControlApiMixin):
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
    - ``events``: ``[{"date": "YYYY-MM-DD", "dividend": 0.24}, {"date": …,
      "split": "10:1"}]``; once a split's day has opened, every earlier bar
      is on the new basis, and the events within a window are served with
      it (``yahoo_chart_body.apply_corporate_actions``).
    - ``spikes``: ``[{"date": "YYYY-MM-DD", "close": 69.98}]``, bad prints.
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
        self._lock = self._cond          # what the control API holds
        self._init_control()
        self._generation = 0           # bumped by reset(): releases hangs
        self._stopping = False
        self._stop_event = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # Start, stop, port and base_url are in fake_http.ServerLifecycleMixin.

    # The control API is in fake_control.ControlApiMixin.

    def _settings_changed_locked(self) -> None:
        self._cond.notify_all()          # hung handlers re-check their fault

    def reset(self) -> None:
        """Start-up settings, empty log, real clock; releases hangs."""
        with self._cond:
            self._generation += 1
            super().reset()

    # The options are in yahoo_settings.OptionResolutionMixin.

    # -- request handling --------------------------------------------------

    def _handle(self, h: _Handler, method: str) -> None:
        path, query, body = self._read_request(h, method)
        if method == "GET" and path.startswith(CHART_PREFIX):
            self._handle_chart(h, path, query)
        elif not self._handle_control(h, method, path, query, body):
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
        now = self.clock()
        try:
            q = parse_chart_query(query, inst, first_day, now)
        except BadRequest as exc:
            status(400)
            self._send(h, 400, bad_request_body(str(exc)), JSON_TYPE, gz=gz)
            return
        result, bars = chart_result(inst, q, first_day, now)
        bars = apply_corporate_actions(inst, result, bars, q, now,
                                       opts["events"], opts["spikes"])

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

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Fake Yahoo Finance chart API (v8) for tests.")
    add_listen_arguments(parser)
    parser.add_argument("--tls-cert", help="server certificate (PEM)")
    parser.add_argument("--tls-key", help="server private key (PEM)")
    add_symbol_arguments(parser, "comma-separated symbols answering 404")
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    fake = FakeYahoo(args.host, args.port, args.tls_cert, args.tls_key,
                     unknown=args.unknown.split(","), quiet=args.quiet)
    return serve(fake, "fake-yahoo", args.port_file)


if __name__ == "__main__":
    sys.exit(main())
