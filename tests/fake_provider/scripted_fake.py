"""What the fakes of Frankfurter, CoinGecko and Tiingo share.

Each fake is a threaded ``http.server`` on loopback that answers one data
endpoint in its provider's documented wire format, with scripted faults, a
request log and a control API, in the style of ``fake_yahoo.py``.  Standard
library only.  The control API's code is shared with Yahoo's fake in
``fake_control``; the made-up prices are in ``scripted_data``.

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
import json
import re
import sys
import threading
import time
import urllib.parse
from http.server import ThreadingHTTPServer
from typing import Any, NamedTuple

from fake_control import (BackgroundServerMixin, ControlApiMixin, FakeHandler,
                          add_listen_arguments, add_symbol_arguments, serve)
# The made-up prices live beside this module; the fakes import them from
# here.
from scripted_data import days, level, parse_day, spoil, units  # noqa: F401

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


class _Handler(FakeHandler):
    def version_string(self) -> str:
        return self.server.app.server_name


class ScriptedFake(ControlApiMixin, BackgroundServerMixin):
    """A provider fake in a background thread; subclasses speak the format.

    Subclasses set ``server_name``, ``logged_headers`` and ``path_pattern``
    (or implement ``route``: path → Route, or None for "not this
    endpoint"), and implement ``data``
    (the answer with data, honouring the data faults), ``not_found`` and
    ``rate_limited``.
    """

    server_name = "fake-provider/1.0"
    #: Request headers worth recording in the log (lower case).
    logged_headers: tuple[str, ...] = ()
    #: The data endpoint's path; its first group is the symbol.
    path_pattern: re.Pattern | None = None
    resolved_keys = ("status", "listed", "delay_ms", "retry_after")
    _validate_options = staticmethod(_validate_options)
    _merge_options = staticmethod(_merge)

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 unknown: tuple[str, ...] | list[str] = (),
                 quiet: bool = True) -> None:
        self.host = host
        self._want_port = port
        self.quiet = quiet
        self._baseline = {self.normalize(s): {"status": "unknown"}
                          for s in unknown if s.strip()}
        self._lock = threading.Lock()
        self._init_control()
        self._stop_event = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # -- to implement -------------------------------------------------------

    def route(self, path: str, query: dict[str, str]) -> Route | None:
        m = self.path_pattern.match(path)
        if m is None:
            return None
        return Route(urllib.parse.unquote(m[1]), dict(query))

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

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # The control API is in fake_control.ControlApiMixin.

    # -- request handling -------------------------------------------------------

    def _handle(self, h: _Handler, method: str) -> None:
        path, query, body = self._read_request(h, method)
        if self._handle_control(h, method, path, query, body):
            return
        if method == "GET" and (route := self.route(path, query)):
            self._handle_data(h, path, query,
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
        h.end_with_body(answer.body)

    def _send_json(self, h: _Handler, code: int, doc: Any) -> None:
        self._send(h, Answer(code, json.dumps(doc).encode()))

    def _send_text(self, h: _Handler, code: int, body: bytes) -> None:
        self._send(h, Answer(code, body, TEXT_TYPE))


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def common_options(args) -> dict:
    """The constructor arguments every fake takes from its command line."""
    return {"host": args.host, "port": args.port,
            "unknown": args.unknown.split(","), "quiet": args.quiet}


def run(description: str, make, extra=None, argv=None) -> int:
    """Runs a fake until SIGTERM/SIGINT: ``make(args)`` builds it;
    ``extra(parser)`` adds the provider's own options."""
    parser = argparse.ArgumentParser(description=description)
    add_listen_arguments(parser)
    add_symbol_arguments(parser,
                         "comma-separated symbols answering not found")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    fake = make(args)
    return serve(fake, fake.server_name, args.port_file)
