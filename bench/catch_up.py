#!/usr/bin/python3
"""Scale benchmark: what a big tracker database costs backfilld.

A tracker with N assets (each with 400 days of prices, as if backfilled
long ago) and M transactions. Measures the start-up catch-up (the one full
scan, and the tracker's recount after it), the database CPU that backfilld's
connections use while idle, and how long a new asset inserted while idle
takes from its transaction to its stored prices, next to the same on an
empty database in the same cluster.

    bench/catch_up.py [--assets 10000] [--transactions 10000000]
                      [--binary build-release/backfilld] [--idle 60]

Starts its own PostgreSQL (scripts/pg-cluster.sh) and the fake provider.
"""

import argparse
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from bench_support import ROOT, start_cluster, stop_cluster

import psycopg2  # noqa: E402

from fake_yahoo import FakeYahoo  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def connect(url):
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def scalar(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def execute(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)


def fill(conn, assets, transactions):
    per_asset = max(transactions // assets, 1)
    execute(conn, "INSERT INTO assets (id, symbol, asset_type, currency)"
                  " SELECT g, 'S' || g, 'stock', 'USD'"
                  " FROM generate_series(1, %s) g", (assets,))
    execute(conn, "INSERT INTO asset_prices (asset_id, date, close)"
                  " SELECT a, current_date - d, 100"
                  " FROM generate_series(1, %s) a, generate_series(1, 400) d",
            (assets,))
    execute(conn, "SET session_replication_role = replica")
    for start in range(1, assets + 1, 1000):
        execute(conn,
                "INSERT INTO transactions (portfolio_id, asset_id, quantity,"
                " price, timestamp)"
                " SELECT 1 + n %% 50, a, 1, 100, now() - (n %% 300) * interval"
                " '1 day' FROM generate_series(%s, %s) a,"
                " generate_series(1, %s) n",
                (start, min(start + 999, assets), per_asset))
    execute(conn, "SET session_replication_role = origin")
    execute(conn, "VACUUM ANALYZE")


def backend_cpu(conn, database):
    """CPU seconds used so far by the backends of `database` that are not
    this connection (that is: backfilld's)."""
    with conn.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s"
                    " AND pid <> pg_backend_pid()", (database,))
        pids = [row[0] for row in cur.fetchall()]
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]
        except OSError:
            continue
        parts = fields.split()
        total += int(parts[11]) + int(parts[12])  # utime, stime
    return total / TICKS


class Daemon:
    def __init__(self, binary, url, base_url, *extra):
        self.log = tempfile.NamedTemporaryFile(prefix="backfilld-bench-",
                                               suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [binary, f"--db.url={url}", f"--yahoo.base-url={base_url}",
             "--yahoo.requests-per-second=1000", "--log.level=debug", *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.started = time.monotonic()

    def output(self):
        return Path(self.log.name).read_text(errors="replace")

    def wait_for(self, pattern, timeout=600):
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.output()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"backfilld never logged {pattern!r}")
            time.sleep(0.05)
        return time.monotonic() - self.started

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)
        if os.environ.get("BENCH_KEEP_LOGS"):
            print(f"log kept: {self.log.name}")
        else:
            os.unlink(self.log.name)


def new_asset_latency(conn, asset):
    """Seconds from a new asset's transaction to its stored prices."""
    execute(conn, "INSERT INTO assets (id, symbol, asset_type) VALUES"
                  " (%s, 'AMD', 'stock')", (asset,))
    t0 = time.monotonic()
    execute(conn, "INSERT INTO transactions (portfolio_id, asset_id, quantity,"
                  " price, timestamp) VALUES (1, %s, 1, 1, now())", (asset,))
    while scalar(conn, "SELECT count(*) FROM backfill_jobs WHERE asset_id = %s"
                       " AND state = 'done'", (asset,)) == 0:
        time.sleep(0.005)
    return time.monotonic() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--binary", default=str(ROOT / "build-release" /
                                                "backfilld"))
    parser.add_argument("--idle", type=int, default=60,
                        help="seconds of idle to measure")
    args = parser.parse_args()

    cluster, big_url = start_cluster("backfilld-bench-", "big")
    small_url = big_url.rsplit("/", 1)[0] + "/small"
    yahoo = FakeYahoo().start()
    daemons = []
    try:
        admin = connect(big_url)
        execute(admin, "CREATE DATABASE small")
        for url in (big_url, small_url):
            subprocess.run([args.binary, "migrate", f"--db.url={url}"],
                           check=True, capture_output=True)
        t0 = time.monotonic()
        fill(admin, args.assets, args.transactions)
        filled = time.monotonic() - t0
        rows = scalar(admin, "SELECT count(*) FROM transactions")

        big = Daemon(args.binary, big_url, yahoo.base_url)
        daemons.append(big)
        scanned = big.wait_for(rf"Full catch-up scan looked at {args.assets}")
        tracked = big.wait_for(rf"Refreshed tracking of {args.assets} assets")
        big.wait_for(r"listening for new transactions")

        # Idle: the default intervals, and catch-up every 10 s as a worst case.
        time.sleep(2)
        cpu0 = backend_cpu(admin, "big")
        time.sleep(args.idle)
        idle_cpu = (backend_cpu(admin, "big") - cpu0) / args.idle
        big.stop()
        daemons.remove(big)
        busy = Daemon(args.binary, big_url, yahoo.base_url,
                      "--queue.catch-up-interval=10s")
        daemons.append(busy)
        busy.wait_for(rf"Refreshed tracking of {args.assets} assets")
        time.sleep(2)
        cpu0 = backend_cpu(admin, "big")
        time.sleep(args.idle)
        idle_cpu_10s = (backend_cpu(admin, "big") - cpu0) / args.idle

        latencies_big = [new_asset_latency(admin, args.assets + i)
                         for i in range(1, 6)]
        small = Daemon(args.binary, small_url, yahoo.base_url)
        daemons.append(small)
        small.wait_for(r"listening for new transactions")
        small_conn = connect(small_url)
        latencies_small = [new_asset_latency(small_conn, i)
                           for i in range(1, 6)]

        median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
        print(f"tracker:                    {args.assets} assets, {rows}"
              f" transactions, {args.assets * 400} price rows"
              f" (filled in {filled:.0f} s)")
        print(f"start-up full scan done:    {scanned:.2f} s after start")
        print(f"tracker recount done:       {tracked:.2f} s after start")
        print(f"idle database CPU:          {100 * idle_cpu:.3f} % of a core"
              f" (default intervals, {args.idle} s)")
        print(f"idle database CPU:          {100 * idle_cpu_10s:.3f} % of a"
              f" core (catch-up every 10 s)")
        print(f"new asset, stored after:    {median(latencies_big) * 1000:.0f}"
              f" ms median of 5 (empty database:"
              f" {median(latencies_small) * 1000:.0f} ms,"
              f" ratio {median(latencies_big) / median(latencies_small):.2f})")
    finally:
        for daemon in daemons:
            daemon.stop()
        yahoo.stop()
        stop_cluster(cluster)


if __name__ == "__main__":
    main()
