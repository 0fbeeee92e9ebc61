"""The fake Yahoo for end-to-end benchmarks: answers cached per symbol, so
that the Python fake is not what the benchmark measures.

Every chart answer is computed once (``warm`` does it before the clock
starts) and served from memory afterwards, gzipped once too. The request
log and ``delay_ms`` work as in the fake itself; faults do not (a benchmark
asks for none).

Every answer leaves in one write with Nagle off, as in the test fake
(``fake_http``): Python's handler writes the headers and the body
separately, and on a kept-alive connection Nagle held the body back until
the client's delayed ACK of the headers, 40 ms on Linux, so every request
after a connection's first took 40 ms more than its ``delay_ms`` (44 ms at
0 ms, 196 ms at 150 ms). That was the fake's cost, not backfilld's.
"""

import gzip
import time
import urllib.parse

import bench_support  # noqa: F401  (puts the fake providers on the path)
from fake_yahoo import (CHART_PREFIX, JSON_TYPE, FakeYahoo, _normalize_symbol,
                        apply_corporate_actions, apply_data_fault,
                        chart_body, chart_result,
                        instrument, parse_chart_query)

#: What backfilld asks for a new asset whose first transaction is recent.
DEFAULT_QUERY = {"range": "1y", "interval": "1d",
                 "includeAdjustedClose": "true", "events": "div,split"}


class CachedYahoo(FakeYahoo):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._answers = {}

    def _answer(self, symbol, query):
        cached = self._answers.get(symbol)
        if cached is None:
            inst = instrument(symbol)
            now = self.clock()
            q = parse_chart_query(query, inst, inst.first_day, now)
            result, bars = chart_result(inst, q, inst.first_day, now)
            bars = apply_corporate_actions(inst, result, bars, q, now, None,
                                           None)
            apply_data_fault(None, inst, result, bars)  # attaches the bars
            payload = chart_body(result)
            cached = (payload, gzip.compress(payload, compresslevel=6, mtime=0))
            self._answers[symbol] = cached
        return cached

    def warm(self, symbols):
        for s in symbols:
            self._answer(_normalize_symbol(s), DEFAULT_QUERY)

    def _handle_chart(self, h, path, query):
        symbol = _normalize_symbol(
            urllib.parse.unquote(path[len(CHART_PREFIX):]))
        entry = {"symbol": symbol, "path": path, "query": query,
                 "t": time.time(), "status": 200}
        with self._cond:
            self._log.append(entry)
            delay = self._resolve_locked(symbol)["delay_ms"]
        if delay and self._stop_event.wait(delay / 1000):
            h.close_connection = True
            return
        plain, packed = self._answer(symbol, query)
        gz = "gzip" in (h.headers.get("Accept-Encoding") or "").lower()
        body = packed if gz else plain
        h.send_response(200)
        h.send_header("Content-Type", JSON_TYPE)
        if gz:
            h.send_header("Content-Encoding", "gzip")
        h.end_with_body(body)

    def request_times(self):
        with self._cond:
            return [e["t"] for e in self._log]
