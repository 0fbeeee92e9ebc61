"""Helpers for the fake providers' tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")


def fetch(url: str, headers: dict | None = None,
          data: bytes | None = None) -> tuple[int, dict, bytes]:
    """(status, headers, raw body) without raising on HTTP errors."""
    req = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), err.read()


class FakeServerTest(unittest.TestCase):
    """One fake per test class, back to its start-up settings with the
    clock at ``now`` before every test.

    Subclasses implement ``make_fake``; ``default_headers`` go with every
    request that does not name its own.
    """

    now: float = 0
    default_headers: dict | None = None

    @classmethod
    def make_fake(cls):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls) -> None:
        cls.fake = cls.make_fake().start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.fake.stop()

    def setUp(self) -> None:
        self.fake.reset()
        self.fake.set_now(self.now)

    def get(self, path: str,
            headers: dict | None = None) -> tuple[int, dict, bytes]:
        return fetch(self.fake.base_url + path,
                     self.default_headers if headers is None else headers)

    def json_answer(self, path: str, headers: dict | None = None):
        """The JSON of a 200 answer to a GET of ``path``."""
        status, response_headers, body = self.get(path, headers)
        self.assertEqual(status, 200, body)
        self.assertIn("application/json", response_headers["Content-Type"])
        return loads(body)


def fixture(provider: str, name: str):
    with open(os.path.join(DATA, provider, name)) as f:
        return json.load(f)


def loads(body: bytes):
    """JSON as the fakes send it, bare NaN included."""
    return json.loads(body)


def run_script(test, script: str, *args: str) -> None:
    """The fake as a program: port file, health, request log, SIGTERM."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = os.path.join(tmp, "port")
        proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, script), "--quiet",
             "--port-file", port_file, *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(port_file):
                if proc.poll() is not None:
                    test.fail(f"{script} exited: {proc.stderr.read()!r}")
                test.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
            with open(port_file) as f:
                port = int(f.read())
            status, _, body = fetch(f"http://127.0.0.1:{port}/_health")
            test.assertEqual((status, body), (200, b"ok"))
            status, _, body = fetch(f"http://127.0.0.1:{port}/_requests")
            test.assertEqual((status, json.loads(body)), (200, []))
        finally:
            proc.send_signal(signal.SIGTERM)
            test.assertEqual(proc.wait(timeout=10), 0)
            proc.stdout.close()
            proc.stderr.close()


def same_json(test, got, want, where: str = "$") -> None:
    """Equal structure and keys in order; numbers within float noise (the
    fakes compute prices with libm, whose last bit may differ by platform)."""
    if isinstance(want, float) or isinstance(got, float):
        test.assertIsInstance(got, (int, float), where)
        test.assertAlmostEqual(got, want, delta=abs(want) * 1e-9, msg=where)
    elif isinstance(want, dict):
        test.assertIsInstance(got, dict, where)
        test.assertEqual(list(got), list(want), where)
        for key in want:
            same_json(test, got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        test.assertIsInstance(got, list, where)
        test.assertEqual(len(got), len(want), where)
        for i, (g, w) in enumerate(zip(got, want)):
            same_json(test, g, w, f"{where}[{i}]")
    else:
        test.assertEqual(got, want, where)


def matches_fixture(test, provider: str, name: str, body: bytes) -> None:
    """The fake's answer is the fixture the C++ parser is tested with, so
    the fake and the parser agree on the format.

    BACKFILLD_REGENERATE=1 rewrites the fixture instead (then rerun the
    parser's unit tests)."""
    path = os.path.join(DATA, provider, name)
    if os.environ.get("BACKFILLD_REGENERATE") == "1":
        with open(path, "wb") as f:
            f.write(body + b"\n")
        return
    with open(path, "rb") as f:
        want = json.loads(f.read())
    same_json(test, json.loads(body), want)
