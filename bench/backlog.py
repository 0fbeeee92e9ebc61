#!/usr/bin/env python3
"""End-to-end benchmark: a backlog of N new assets during a provider outage.

Measures what the tests only bound: the daemon's resident memory while
thousands of notifications arrive and the provider hangs (the backlog must
wait in the table, so memory stays flat), and the throughput once the
provider is back (assets and rows per second through the whole pipeline).

    bench/backlog.py [--assets 5000] [--binary build-release/backfilld]
                     [--csv /tmp/backlog-memory.csv]

Starts its own PostgreSQL (scripts/pg-cluster.sh) and the fake provider;
prints a summary and writes the memory curve (seconds, RSS in KiB, jobs
done) as CSV.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_support import (ROOT, rss_kib, start_cluster, stop_cluster,
                           wait_until_logged, write_samples)

sys.path.insert(0, str(ROOT / "tests" / "integration"))

import psycopg2  # noqa: E402

from fake_yahoo import FakeYahoo  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=5000)
    parser.add_argument("--binary", default=str(ROOT / "build-release" /
                                                "backfilld"))
    parser.add_argument("--csv", default="/tmp/backlog-memory.csv")
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    cluster, url = start_cluster("backfilld-bench-", "bench")
    yahoo = FakeYahoo().start()
    log = tempfile.NamedTemporaryFile(prefix="backfilld-bench-", suffix=".log",
                                      delete=False)
    daemon = None
    try:
        yahoo.set_global(fault="hang")
        daemon = subprocess.Popen(
            [args.binary, f"--db.url={url}", f"--yahoo.base-url={yahoo.base_url}",
             f"--fetch.window={args.window}",
             f"--fetch.concurrency={args.concurrency}",
             "--yahoo.requests-per-second=1000", "--yahoo.burst=100",
             "--yahoo.timeout=120s", "--queue.poll-interval=200ms",
             "--log.summary-interval=1s", "--log.level=info"],
            stdout=log, stderr=subprocess.STDOUT)
        conn = psycopg2.connect(url)
        conn.autocommit = True
        cur = conn.cursor()
        wait_until_logged(log.name, "listening", 30, daemon)

        samples = []
        stop = threading.Event()
        t0 = time.monotonic()

        def sample():
            watcher = psycopg2.connect(url)
            watcher.autocommit = True
            with watcher.cursor() as c:
                while not stop.is_set():
                    c.execute("SELECT count(*) FILTER (WHERE state = 'done'),"
                              " count(*) FROM backfill_jobs")
                    done, queued = c.fetchone()
                    samples.append((time.monotonic() - t0,
                                    rss_kib(daemon.pid), done, queued))
                    time.sleep(0.2)
            watcher.close()

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        idle_rss = rss_kib(daemon.pid)

        # The backlog: N new assets, one transaction (one NOTIFY) each.
        n = args.assets
        for start in range(0, n, 1000):
            stop_at = min(start + 1000, n)
            cur.execute("INSERT INTO assets (id, symbol) SELECT i, 'S' || i"
                        " FROM generate_series(%s, %s) i",
                        (start + 1, stop_at))
            cur.execute("INSERT INTO transactions (portfolio_id, asset_id,"
                        " quantity, price, timestamp) SELECT 1, i, 1, 1, now()"
                        " FROM generate_series(%s, %s) i", (start + 1, stop_at))
        while True:
            cur.execute("SELECT count(*) FROM backfill_jobs")
            if cur.fetchone()[0] >= n:
                break
            time.sleep(0.2)
        queued_at = time.monotonic() - t0
        time.sleep(3)  # let the notifications settle while the outage lasts
        outage_rss = max(s[1] for s in samples)

        # The provider comes back.
        released = time.monotonic()
        yahoo.set_global(fault=None)
        while True:
            cur.execute("SELECT count(*) FROM backfill_jobs WHERE state = 'done'")
            if cur.fetchone()[0] >= n:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - released
        cur.execute("SELECT count(*) FROM asset_prices")
        rows = cur.fetchone()[0]
        stop.set()
        sampler.join()
        drain_rss = max(s[1] for s in samples if s[0] >= released - t0)

        output = Path(log.name).read_text()
        peaks = [int(m) for m in re.findall(r"jobs_in_memory_max=(\d+)", output)]
        write_samples(args.csv, "seconds,rss_kib,jobs_done,jobs_queued",
                      samples)

        print(f"assets:                 {n}")
        print(f"window / concurrency:   {args.window} / {args.concurrency}")
        print(f"idle RSS:               {idle_rss / 1024:.1f} MiB")
        print(f"RSS during the outage:  {outage_rss / 1024:.1f} MiB peak"
              f" (all {n} queued after {queued_at:.1f} s)")
        print(f"RSS while draining:     {drain_rss / 1024:.1f} MiB peak")
        print(f"jobs in memory, peak:   {max(peaks) if peaks else '?'}")
        print(f"drained in:             {elapsed:.1f} s"
              f" = {n / elapsed:.0f} assets/s, {rows / elapsed:.0f} rows/s")
        print(f"memory curve:           {args.csv}")
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(60)
        yahoo.stop()
        stop_cluster(cluster)
        os.unlink(log.name)


if __name__ == "__main__":
    main()
