#!/usr/bin/env python3
"""Tests for the fake Yahoo as a server: hangs and stop(), TLS, command line.

Run: python3 tests/fake_provider/test_fake_yahoo_server.py [-v]
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

from yahoo_test_support import HERE, ONE_YEAR, fetch, read

# yahoo_test_support has put this directory on sys.path.
from fake_yahoo import FakeYahoo


class HangAndShutdownTest(unittest.TestCase):
    """Stuck clients must block neither other requests nor stop()."""

    def setUp(self) -> None:
        self.fake = FakeYahoo().start()
        self.addCleanup(self.fake.stop)

    def url(self, symbol: str) -> str:
        return f"{self.fake.base_url}/v8/finance/chart/{symbol}?{ONE_YEAR}"

    def start_client(self, symbol: str) -> tuple[threading.Thread, dict]:
        outcome: dict = {}

        def run() -> None:
            try:
                outcome["status"] = fetch(self.url(symbol), timeout=15)[0]
            except Exception as exc:   # noqa: BLE001 - any failure will do
                outcome["error"] = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 5
        while not self.fake.requests(symbol):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        return thread, outcome

    def test_hang_does_not_block_and_stop_is_fast(self) -> None:
        self.fake.set_symbol("HANG", fault="hang")
        thread, outcome = self.start_client("HANG")
        # An idle keep-alive connection must not hold up stop() either.
        idle = http.client.HTTPConnection("127.0.0.1", self.fake.port,
                                          timeout=5)
        idle.request("GET", "/_health")
        idle.getresponse().read()
        start = time.monotonic()
        self.assertEqual(fetch(self.url("AMD"), timeout=3)[0], 200)
        self.assertLess(time.monotonic() - start, 1.0)
        self.assertTrue(thread.is_alive())   # still hung

        start = time.monotonic()
        self.fake.stop()
        self.assertLess(time.monotonic() - start, 2.0)
        thread.join(3)
        self.assertFalse(thread.is_alive())
        self.assertIn("error", outcome)      # connection closed, no reply
        self.assertIsNone(self.fake.requests("HANG")[0]["status"])
        idle.close()

    def test_clearing_the_fault_releases_the_hang(self) -> None:
        self.fake.set_symbol("HANG", fault="hang", fault_times=1)
        thread, outcome = self.start_client("HANG")
        self.assertEqual(fetch(self.url("HANG"), timeout=3)[0], 200)
        self.assertTrue(thread.is_alive())
        self.fake.set_symbol("HANG", fault=None)
        thread.join(3)
        self.assertFalse(thread.is_alive())
        self.assertIn("error", outcome)

    def test_reset_releases_the_hang(self) -> None:
        self.fake.set_global(fault="hang")
        thread, outcome = self.start_client("ANY")
        status, _, _ = fetch(self.fake.base_url + "/_reset", data=b"")
        self.assertEqual(status, 200)
        thread.join(3)
        self.assertFalse(thread.is_alive())
        self.assertIn("error", outcome)
        self.assertEqual(fetch(self.url("ANY"), timeout=3)[0], 200)

    def test_slow_loris(self) -> None:
        self.fake.set_symbol("SLOW", fault="slow_loris")
        with urllib.request.urlopen(self.url("SLOW"), timeout=5) as resp:
            self.assertGreater(int(resp.headers["Content-Length"]), 10**6)
            start = time.monotonic()
            self.assertEqual(resp.read(1), b"{")
            self.assertEqual(resp.read(1), b'"')
            self.assertGreater(time.monotonic() - start, 0.5)
            start = time.monotonic()
            self.fake.stop()
            self.assertLess(time.monotonic() - start, 2.0)


@unittest.skipIf(shutil.which("openssl") is None, "openssl not installed")
class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory()
        subprocess.run(["bash", os.path.join(HERE, "make_test_ca.sh"),
                        cls.tmp.name], check=True)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def test_tls_with_and_without_test_ca(self) -> None:
        d = self.tmp.name
        with FakeYahoo(tls_cert=os.path.join(d, "server.pem"),
                       tls_key=os.path.join(d, "server.key")) as fake:
            self.assertTrue(fake.base_url.startswith("https://127.0.0.1:"))
            trusted = ssl.create_default_context(
                cafile=os.path.join(d, "ca.pem"))
            path = f"/v8/finance/chart/AMD?{ONE_YEAR}"
            for host in ("127.0.0.1", "localhost"):   # IP and DNS SANs
                status, _, body = fetch(f"https://{host}:{fake.port}{path}",
                                        context=trusted)
                self.assertEqual(status, 200)
                self.assertIn(b'"symbol":"AMD"', body)
            with self.assertRaises(urllib.error.URLError) as caught:
                fetch(fake.base_url + path,
                      context=ssl.create_default_context())
            self.assertIsInstance(caught.exception.reason,
                                  ssl.SSLCertVerificationError)
            # A plain-HTTP client must not wedge the server.
            with self.assertRaises((http.client.HTTPException, OSError)):
                fetch(f"http://127.0.0.1:{fake.port}/_health", timeout=2)
            self.assertEqual(fetch(fake.base_url + "/_health",
                                   context=trusted)[0], 200)

    def test_script_is_idempotent(self) -> None:
        pem = os.path.join(self.tmp.name, "server.pem")
        before = read(pem, "rb")
        subprocess.run(["bash", os.path.join(HERE, "make_test_ca.sh"),
                        self.tmp.name], check=True)
        self.assertEqual(read(pem, "rb"), before)


class CliTest(unittest.TestCase):
    def test_port_file_unknown_and_sigterm(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            port_file = os.path.join(tmp, "port")
            proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "fake_yahoo.py"),
                 "--port", "0", "--port-file", port_file,
                 "--unknown", "ZZZZ,YYYY", "--quiet"],
                stdout=subprocess.PIPE, text=True)
            try:
                line = proc.stdout.readline()
                port = int(read(port_file))
                self.assertEqual(
                    line, f"fake-yahoo listening on http://127.0.0.1:{port}\n")
                base = f"http://127.0.0.1:{port}/v8/finance/chart/"
                self.assertEqual(fetch(base + "YYYY?" + ONE_YEAR)[0], 404)
                self.assertEqual(fetch(base + "AMD?" + ONE_YEAR)[0], 200)
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(timeout=5), 0)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                proc.stdout.close()


if __name__ == "__main__":
    unittest.main()
