"""What the fakes of Frankfurter, CoinGecko and Tiingo share.

Each fake is a threaded ``http.server`` on loopback that answers one data
endpoint in its provider's documented wire format, with scripted faults, a
request log and a control API, in the style of ``fake_yahoo.py``.  Standard
library only.

Control API (JSON in and out, never subject to faults):

    POST /_control   {"global": {opts}, "symbols": {"SYM": {opts}}, "now": ts}
                     merges settings; a null value deletes an option
    GET  /_control   current settings
    POST /_reset     back to the start-up settings, empty log, real clock
    GET  /_requests  [{"symbol", "path", "query", "headers", "t", "status"}]
                     data requests in arrival order (?symbol=SYM filters)
    GET  /_health    200 "ok"

Options (per symbol, or global for symbols without their own value):

- ``status``: "ok" | "unknown" (the provider's not-found answer).
- ``listed``: "YYYY-MM-DD", no data before that day.
- ``fault``: one of ``FAULTS``; "none" disables a global fault for a symbol.
- ``fault_times``: N, the fault hits the next N requests, then stops.
- ``delay_ms``: sleep before answering.
- ``retry_after``: seconds, sent as Retry-After with http_429.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import math
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"

#: Fault names accepted by the ``fault`` option:
#:   none              disables a global fault for one symbol
#:   http_500/http_503 short HTML error page with that status
#:   http_429          the provider's own 429 answer (+ Retry-After if the
#:                     retry_after option is set)
#:   html              200 text/html proof-of-work page (what Stooq does)
#:   html_as_json      the same page labelled application/json
#:   not_json          200 application/json, body "Service Unavailable"
#:   truncated         the first half of a valid body
#:   empty             a well-formed answer without any data
#:   nulls             every 5th value null
#:   nan_negative      some values negative, some the bare token NaN
FAULTS = frozenset({
    "none", "http_500", "http_503", "http_429", "html", "html_as_json",
    "not_json", "truncated", "empty", "nulls", "nan_negative",
})
OPTION_KEYS = frozenset({
    "status", "listed", "fault", "fault_times", "delay_ms", "retry_after",
})

ERROR_PAGE = """<!DOCTYPE html>
<html><head><title>{code} {reason}</title></head>
<body><h1>{code} {reason}</h1></body></html>
"""
#: A 200 that is not data: the page Stooq sends non-browser clients.
CHALLENGE_PAGE = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Checking your browser</title>
<script>/* proof of work */ var n=0;while(!ok(n))n++;submit(n);</script>
</head><body><noscript>Enable JavaScript to continue.</noscript></body>
</html>
"""


class Answer(NamedTuple):
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: dict | None = None


class Route(NamedTuple):
    """A data request: the symbol it is about and the provider's parameters."""

    symbol: str
    params: dict


class BadRequest(Exception):
    """The request is not one the real provider would answer with data."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


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


def _validate_options(opts: Any, where: str) -> dict:
    if not isinstance(opts, dict):
        raise ValueError(f"{where}: options must be an object")
    unknown = set(opts) - OPTION_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown options {sorted(unknown)}")
    fault = opts.get("fault")
    if fault is not None and fault not in FAULTS:
        raise ValueError(f"{where}: unknown fault {fault!r}")
    status = opts.get("status")
    if status is not None and status not in ("ok", "unknown"):
        raise ValueError(f"{where}: status must be 'ok' or 'unknown'")
    if opts.get("listed") is not None:
        parse_day(opts["listed"])
    for key in ("fault_times", "delay_ms", "retry_after"):
        value = opts.get(key)
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, int) or value < 0):
            raise ValueError(f"{where}: {key} must be a non-negative integer")
    return dict(opts)


def _merge(target: dict, opts: dict) -> None:
    for key, value in opts.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, app: "ScriptedFake") -> None:
        self.app = app
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return   # clients cut connections all the time in tests
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive; every reply has a length
    sys_version = ""

    def version_string(self) -> str:
        return self.server.app.server_name

    def do_GET(self) -> None:
        self.server.app._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.app._handle(self, "POST")

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.app.quiet:
            super().log_message(format, *args)


class ScriptedFake:
    """A provider fake in a background thread; subclasses speak the format.

    Subclasses set ``server_name`` and ``logged_headers`` and implement
    ``route`` (path → Route, or None for "not this endpoint"), ``data``
    (the answer with data, honouring the data faults), ``not_found`` and
    ``rate_limited``.
    """

    server_name = "fake-provider/1.0"
    #: Request headers worth recording in the log (lower case).
    logged_headers: tuple[str, ...] = ()

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 unknown: tuple[str, ...] | list[str] = (),
                 quiet: bool = True) -> None:
        self.host = host
        self._want_port = port
        self.quiet = quiet
        self._baseline = {self.normalize(s): {"status": "unknown"}
                          for s in unknown if s.strip()}
        self._lock = threading.Lock()
        self._global: dict = {}
        self._symbols: dict = {}
        self._log: list[dict] = []
        self._now: float | None = None
        self._stop_event = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # -- to implement -------------------------------------------------------

    def route(self, path: str, query: dict[str, str]) -> Route | None:
        raise NotImplementedError

    def data(self, route: Route, headers: Any, opts: dict,
             now: float) -> Answer:
        raise NotImplementedError

    def not_found(self, route: Route) -> Answer:
        raise NotImplementedError

    def rate_limited(self) -> Answer:
        """The provider's HTTP 429 (Retry-After is added by the caller)."""
        raise NotImplementedError

    def normalize(self, symbol: str) -> str:
        return symbol.strip().upper()

    def authorize(self, headers: Any) -> Answer | None:
        """An answer refusing the request's credentials, or None."""
        return None

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> "ScriptedFake":
        self._server = _Server((self.host, self._want_port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=self.server_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop_event.set()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "ScriptedFake":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- control (Python side) ------------------------------------------------

    def set_symbol(self, symbol: str, **opts: Any) -> None:
        self.configure({"symbols": {symbol: opts}})

    def set_global(self, **opts: Any) -> None:
        self.configure({"global": opts})

    def set_now(self, now: float | None) -> None:
        """Pretend the clock reads NOW (unix seconds); None = real time."""
        self.configure({"now": now})

    def configure(self, body: Any) -> dict:
        if not isinstance(body, dict):
            raise ValueError("control body must be a JSON object")
        unknown = set(body) - {"global", "symbols", "now"}
        if unknown:
            raise ValueError(f"unknown control keys: {sorted(unknown)}")
        glob = _validate_options(body.get("global") or {}, "global")
        symbols = body.get("symbols") or {}
        if not isinstance(symbols, dict):
            raise ValueError("symbols must be an object")
        symbols = {self.normalize(s): _validate_options(o, s)
                   for s, o in symbols.items()}
        now = body.get("now")
        if "now" in body and now is not None and (
                isinstance(now, bool) or not isinstance(now, (int, float))):
            raise ValueError("now must be unix seconds or null")
        with self._lock:
            _merge(self._global, glob)
            for symbol, opts in symbols.items():
                target = self._symbols.setdefault(symbol, {})
                _merge(target, opts)
                if not target:
                    del self._symbols[symbol]
            if "now" in body:
                self._now = now
            return self._state_locked()

    def state(self) -> dict:
        with self._lock:
            return self._state_locked()

    def requests(self, symbol: str | None = None) -> list[dict]:
        with self._lock:
            return copy.deepcopy([
                e for e in self._log
                if symbol is None or e["symbol"] == self.normalize(symbol)])

    def reset(self) -> None:
        with self._lock:
            self._global = {}
            self._symbols = copy.deepcopy(self._baseline)
            self._log = []
            self._now = None

    def clock(self) -> float:
        with self._lock:
            return time.time() if self._now is None else self._now

    def _state_locked(self) -> dict:
        return {"global": copy.deepcopy(self._global),
                "symbols": copy.deepcopy(self._symbols), "now": self._now}

    def _resolve_locked(self, symbol: str) -> dict:
        """Effective options for one request; consumes a fault count."""
        own = self._symbols.get(symbol, {})
        eff = {key: own.get(key, self._global.get(key))
               for key in ("status", "listed", "delay_ms", "retry_after")}
        source = own if "fault" in own else self._global
        fault = source.get("fault")
        remaining = source.get("fault_times")
        if fault is not None and remaining is not None:
            if remaining > 0:
                source["fault_times"] = remaining - 1
            else:
                fault = None
        eff["fault"] = None if fault == "none" else fault
        return eff

    # -- request handling -------------------------------------------------------

    def _handle(self, h: _Handler, method: str) -> None:
        url = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        body = b""
        if method == "POST":
            length = int(h.headers.get("Content-Length") or 0)
            body = h.rfile.read(length) if length else b""
        if method == "GET" and url.path == "/_health":
            self._send(h, Answer(200, b"ok", TEXT_TYPE))
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
        elif method == "GET" and (route := self.route(url.path, query)):
            self._handle_data(h, url.path, query,
                              route._replace(symbol=self.normalize(
                                  route.symbol)))
        else:
            self._send(h, self.unknown_path())

    def unknown_path(self) -> Answer:
        return Answer(404, b'{"message":"not found"}')

    def _handle_data(self, h: _Handler, path: str, query: dict,
                     route: Route) -> None:
        entry = {"symbol": route.symbol, "path": path, "query": query,
                 "headers": {name: h.headers.get(name)
                             for name in self.logged_headers},
                 "t": time.time(), "status": None}
        with self._lock:
            self._log.append(entry)
            opts = self._resolve_locked(route.symbol)
        answer = self._answer(h, route, opts)
        with self._lock:
            entry["status"] = answer.status if answer else None
        if answer is not None:
            self._send(h, answer)

    def _answer(self, h: _Handler, route: Route, opts: dict) -> Answer | None:
        if opts["delay_ms"] and self._stop_event.wait(opts["delay_ms"] / 1000):
            h.close_connection = True
            return None
        fault = opts["fault"]
        if fault in ("http_500", "http_503"):
            code = int(fault[-3:])
            page = ERROR_PAGE.format(code=code, reason=h.responses[code][0])
            return Answer(code, page.encode(), HTML_TYPE)
        if fault == "http_429":
            headers = {}
            if opts["retry_after"] is not None:
                headers["Retry-After"] = str(opts["retry_after"])
            return self.rate_limited()._replace(headers=headers)
        if fault == "html":
            return Answer(200, CHALLENGE_PAGE, HTML_TYPE)
        if fault == "html_as_json":
            return Answer(200, CHALLENGE_PAGE, JSON_TYPE)
        if fault == "not_json":
            return Answer(200, b"Service Unavailable", JSON_TYPE)
        refused = self.authorize(h.headers)
        if refused is not None:
            return refused
        if opts["status"] == "unknown":
            return self.not_found(route)
        try:
            answer = self.data(route, h.headers, opts, self.clock())
        except BadRequest as exc:
            return exc.answer
        if fault == "truncated":
            answer = answer._replace(body=answer.body[:len(answer.body) // 2])
        return answer

    def _send(self, h: _Handler, answer: Answer) -> None:
        h.send_response(answer.status)
        h.send_header("Content-Type", answer.content_type)
        for name, value in (answer.headers or {}).items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(answer.body)))
        h.end_headers()
        h.wfile.write(answer.body)

    def _send_json(self, h: _Handler, code: int, doc: Any) -> None:
        self._send(h, Answer(code, json.dumps(doc).encode()))


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


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def _write_port_file(path: str, port: int) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)    # atomic: readers never see a partial number


def run(description: str, make, extra=None, argv=None) -> int:
    """Runs a fake until SIGTERM/SIGINT: ``make(args)`` builds it;
    ``extra(parser)`` adds the provider's own options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0,
                        help="0 picks a free port")
    parser.add_argument("--port-file",
                        help="write the bound port here once listening")
    parser.add_argument("--unknown", default="",
                        help="comma-separated symbols answering not found")
    parser.add_argument("--quiet", action="store_true",
                        help="no access log on stderr")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    fake = make(args)
    fake.start()
    if args.port_file:
        _write_port_file(args.port_file, fake.port)
    print(f"{fake.server_name} listening on {fake.base_url}", flush=True)
    try:
        while not done.wait(0.5):   # a timeout, so signals are handled
            pass
    finally:
        fake.stop()
    return 0
