"""Fake Yahoo, the HTTP plumbing: threaded server, handler, reply writers.

A threading HTTP/1.1 server (optionally TLS) that tracks its connections so
stop() can cut them, a handler that passes every request to the app's
``_handle``, starting and stopping that server in a background thread, and
the writers that put replies on the wire (plain, gzip, streamed huge, slow
loris).  What to answer is decided in ``fake_yahoo``.
"""

from __future__ import annotations

import gzip
import json
import select
import socket
import socketserver
import ssl
import sys
import threading
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from fake_control import BackgroundServerMixin, FakeHandler
from yahoo_chart_body import JSON_TYPE, TEXT_TYPE
from yahoo_settings import SLOW_LORIS_LENGTH

if TYPE_CHECKING:   # annotations only: fake_yahoo imports this module
    from fake_yahoo import FakeYahoo

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


class _Handler(FakeHandler):
    server_version = "fake-yahoo/1.0"

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def version_string(self) -> str:
        return self.server_version     # no Python version, no stray space


def _peer_closed(sock: socket.socket) -> bool:
    """True when the client has gone away (plain sockets only)."""
    if isinstance(sock, ssl.SSLSocket):
        return False   # MSG_PEEK is not available through TLS
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class ServerLifecycleMixin(BackgroundServerMixin):
    """FakeYahoo's start/stop and address, moved here beside its server.

    Uses the host's ``host``, ``tls``, ``_want_port``, ``_ssl_context``,
    ``_thread``, ``_stop_event``, and ``_cond``/``_stopping`` (stop()
    releases hung handlers before cutting their connections).
    """

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

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


class ResponseWriterMixin:
    """FakeYahoo's reply writers, moved here with the rest of the wire side.

    Uses the host's ``_stop_event`` and ``_wait_released``.
    """

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
        h.end_with_body(body)

    def _send_json(self, h: _Handler, code: int, doc: Any) -> None:
        self._send(h, code, json.dumps(doc).encode(), JSON_TYPE)

    def _send_text(self, h: _Handler, code: int, body: bytes) -> None:
        self._send(h, code, body, TEXT_TYPE)

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
