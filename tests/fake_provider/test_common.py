"""Helpers for the fake providers' tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
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
