"""What every fake provider shares, Yahoo's and the scripted ones alike.

The control API (settings per symbol and global, the request log, the fake
clock) on the Python side and over HTTP, the request handler that passes
every request to its fake, and the command line that runs a fake until
SIGTERM.  The fakes differ in their options, faults and answers; those stay
in ``yahoo_settings``/``fake_yahoo`` and ``scripted_fake``.  Standard
library only.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any


class FakeHandler(BaseHTTPRequestHandler):
    """Passes every request to the server's fake (``server.app``)."""

    protocol_version = "HTTP/1.1"   # keep-alive; every reply has a length
    sys_version = ""

    def setup(self) -> None:
        # Real servers answer at once; with Nagle on, a kept-alive answer's
        # last segment waited for the client's delayed ACK (40 ms on Linux).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def end_with_body(self, body: bytes) -> None:
        """Content-Length, then headers and body in one write: end_headers
        would send the headers alone, and the body would wait for their
        ACK."""
        self.send_header("Content-Length", str(len(body)))
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(body)
        self.flush_headers()

    def do_GET(self) -> None:
        self.server.app._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.app._handle(self, "POST")

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.app.quiet:
            super().log_message(format, *args)


class BackgroundServerMixin:
    """``with fake:`` starts and stops a fake; ``port`` is where it listens.

    Uses the host's ``start``, ``stop`` and ``_server``.
    """

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]


class ControlApiMixin:
    """A fake's settings, request log and clock, and the control endpoints.

    Uses the host's ``_lock`` (held where a name says "locked"; a Condition
    where handlers wait for changes), ``_baseline`` (the start-up symbol
    settings), ``_validate_options``, ``_merge_options``, ``normalize`` and
    ``resolved_keys`` (the options a request resolves besides the fault),
    and replies through the host's ``_send_json`` and ``_send_text``.
    """

    def _init_control(self) -> None:
        self._global: dict = {}
        self._symbols: dict = {}
        self._log: list[dict] = []
        self._now: float | None = None

    def _settings_changed_locked(self) -> None:
        """Called whenever settings change; handlers waiting on them may
        need waking."""

    # -- control (Python side) ---------------------------------------------

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
        glob = self._validate_options(body.get("global") or {}, "global")
        symbols = body.get("symbols") or {}
        if not isinstance(symbols, dict):
            raise ValueError("symbols must be an object")
        symbols = {self.normalize(s): self._validate_options(o, s)
                   for s, o in symbols.items()}
        now = body.get("now")
        if "now" in body and now is not None and (
                isinstance(now, bool) or not isinstance(now, (int, float))):
            raise ValueError("now must be unix seconds or null")
        with self._lock:
            self._merge_options(self._global, glob)
            for symbol, opts in symbols.items():
                target = self._symbols.setdefault(symbol, {})
                self._merge_options(target, opts)
                if not target:
                    del self._symbols[symbol]
            if "now" in body:
                self._now = now
            self._settings_changed_locked()
            return self._state_locked()

    def state(self) -> dict:
        with self._lock:
            return self._state_locked()

    def requests(self, symbol: str | None = None) -> list[dict]:
        """Data requests so far, in arrival order (copies)."""
        with self._lock:
            return copy.deepcopy([
                e for e in self._log
                if symbol is None or e["symbol"] == self.normalize(symbol)])

    def reset(self) -> None:
        """Start-up settings, empty log, real clock."""
        with self._lock:
            self._global = {}
            self._symbols = copy.deepcopy(self._baseline)
            self._log = []
            self._now = None
            self._settings_changed_locked()

    def clock(self) -> float:
        with self._lock:
            return time.time() if self._now is None else self._now

    def _state_locked(self) -> dict:
        return {"global": copy.deepcopy(self._global),
                "symbols": copy.deepcopy(self._symbols), "now": self._now}

    def _fault_source(self, symbol: str) -> dict:
        own = self._symbols.get(symbol, {})
        return own if "fault" in own else self._global

    def _resolve_locked(self, symbol: str) -> dict:
        """Effective options for one request; consumes a fault count."""
        own = self._symbols.get(symbol, {})
        eff = {key: own.get(key, self._global.get(key))
               for key in self.resolved_keys}
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

    # -- control (HTTP side) -----------------------------------------------

    def _read_request(self, h: FakeHandler, method: str):
        """(path, query, body) of the request ``h`` is handling."""
        url = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(url.query,
                                            keep_blank_values=True))
        body = b""
        if method == "POST":
            length = int(h.headers.get("Content-Length") or 0)
            body = h.rfile.read(length) if length else b""
        return url.path, query, body

    def _handle_control(self, h: FakeHandler, method: str, path: str,
                        query: dict, body: bytes) -> bool:
        """Answers a control endpoint; False when ``path`` is none."""
        if method == "GET" and path == "/_health":
            self._send_text(h, 200, b"ok")
        elif method == "GET" and path == "/_requests":
            self._send_json(h, 200, self.requests(query.get("symbol")))
        elif method == "GET" and path == "/_control":
            self._send_json(h, 200, self.state())
        elif method == "POST" and path == "/_control":
            try:
                state = self.configure(json.loads(body or b"{}"))
            except ValueError as exc:   # includes JSONDecodeError
                self._send_json(h, 400, {"error": str(exc)})
                return True
            self._send_json(h, 200, state)
        elif method == "POST" and path == "/_reset":
            self.reset()
            self._send_json(h, 200, {"ok": True})
        else:
            return False
        return True


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def add_listen_arguments(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0,
                        help="0 picks a free port")
    parser.add_argument("--port-file",
                        help="write the bound port here once listening")


def add_symbol_arguments(parser, unknown_help: str) -> None:
    parser.add_argument("--unknown", default="", help=unknown_help)
    parser.add_argument("--quiet", action="store_true",
                        help="no access log on stderr")


def write_port_file(path: str, port: int) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)    # atomic: readers never see a partial number


def serve(fake, name: str, port_file: str | None) -> int:
    """Runs ``fake`` until SIGTERM/SIGINT, announcing it as ``name``."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    fake.start()
    if port_file:
        write_port_file(port_file, fake.port)
    print(f"{name} listening on {fake.base_url}", flush=True)
    try:
        while not done.wait(0.5):   # a timeout, so signals are handled
            pass
    finally:
        fake.stop()
    return 0
