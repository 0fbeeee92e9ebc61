#!/usr/bin/python3
"""Soak: the daemon's resident memory over an hour of steady load.

A steady stream of new assets (one transaction, one NOTIFY each) goes through
the whole pipeline against its own PostgreSQL and the fake provider; the
daemon's RSS is sampled every `--sample-every` seconds and the slope of a
least-squares line through the samples after `--warmup` is reported. Memory
that grows with uptime (timers, per-request bookkeeping) shows as a slope
that does not go to zero; a bounded working set shows as a flat line after
the warm-up.

    bench/soak.py                                   # one hour, 3 assets/s
    bench/soak.py --minutes 5 --sample-every 20     # shortened
    bench/soak.py --binary build-release/backfilld --csv /tmp/soak.csv

Not run in CI (it takes an hour); see bench/README.md for figures.
"""

import argparse
import os
import subprocess
import tempfile
import time

from bench_support import (ROOT, rss_kib, start_cluster, stop_cluster,
                           wait_until_logged, write_samples)

import psycopg2  # noqa: E402

from fake_yahoo import FakeYahoo  # noqa: E402


def slope(points):
    """Least-squares slope of (x, y) points, or None for fewer than two."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0,
                        help="how long the load runs (default 60)")
    parser.add_argument("--rate", type=float, default=3.0,
                        help="new assets per second (default 3)")
    parser.add_argument("--sample-every", type=float, default=60.0,
                        help="seconds between RSS samples (default 60)")
    parser.add_argument("--warmup", type=float, default=180.0,
                        help="seconds left out of the slope (default 180)")
    parser.add_argument("--binary", default=str(ROOT / "build-release" /
                                                "backfilld"))
    parser.add_argument("--csv", default="/tmp/soak-memory.csv")
    args = parser.parse_args()
    duration = args.minutes * 60.0

    cluster, url = start_cluster("backfilld-soak-", "soak")
    yahoo = FakeYahoo().start()
    log = tempfile.NamedTemporaryFile(prefix="backfilld-soak-", suffix=".log",
                                      delete=False)
    daemon = None
    try:
        daemon = subprocess.Popen(
            [args.binary, f"--db.url={url}",
             f"--yahoo.base-url={yahoo.base_url}",
             "--yahoo.requests-per-second=1000", "--yahoo.burst=100",
             "--queue.poll-interval=200ms", "--log.summary-interval=60s",
             "--log.level=info"],
            stdout=log, stderr=subprocess.STDOUT)
        conn = psycopg2.connect(url)
        conn.autocommit = True
        cur = conn.cursor()
        wait_until_logged(log.name, "listening for new transactions", 60,
                          daemon)

        samples = []  # (seconds, rss KiB, jobs done, assets added)
        t0 = time.monotonic()
        next_sample = t0
        added = 0

        def take_sample(now):
            cur.execute("SELECT count(*) FROM backfill_jobs"
                        " WHERE state = 'done'")
            done = cur.fetchone()[0]
            samples.append((now - t0, rss_kib(daemon.pid), done, added))
            s = samples[-1]
            print(f"{s[0]:7.0f} s  RSS {s[1] / 1024:6.1f} MiB"
                  f"  done {s[2]:6d} / {s[3]:6d}", flush=True)

        while True:
            now = time.monotonic()
            if now >= next_sample:
                take_sample(now)
                next_sample += args.sample_every
            if now - t0 >= duration:
                break
            if daemon.poll() is not None:
                raise SystemExit(f"backfilld exited ({daemon.returncode})")
            # Steady load: as many assets as the rate says by now.
            due = int((now - t0) * args.rate) - added
            for _ in range(max(due, 0)):
                added += 1
                cur.execute("INSERT INTO assets (id, symbol) VALUES (%s, %s)",
                            (added, f"S{added}"))
                cur.execute("INSERT INTO transactions (portfolio_id, asset_id,"
                            " quantity, price, timestamp)"
                            " VALUES (1, %s, 1, 1, now())", (added,))
            time.sleep(0.05)

        write_samples(args.csv, "seconds,rss_kib,jobs_done,assets_added",
                      samples)
        steady = [(s[0], s[1]) for s in samples if s[0] >= args.warmup]
        whole = slope([(s[0], s[1]) for s in samples])
        after = slope(steady)
        print(f"duration:               {duration / 60:.1f} min"
              f" at {args.rate:g} new assets/s ({added} assets,"
              f" {samples[-1][2]} jobs done)")
        print(f"RSS first / peak / last: {samples[0][1] / 1024:.1f} /"
              f" {max(s[1] for s in samples) / 1024:.1f} /"
              f" {samples[-1][1] / 1024:.1f} MiB")
        if whole is not None:
            print(f"slope, all samples:     {whole:.2f} KiB/s")
        if after is not None:
            print(f"slope after {args.warmup:.0f} s:      {after:.2f} KiB/s"
                  f" ({after * 3600 / 1024:.1f} MiB/h) over {len(steady)}"
                  " samples")
        else:
            print(f"slope after {args.warmup:.0f} s:      too few samples")
        print(f"samples:                {args.csv}")
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.terminate()
            daemon.wait(60)
        yahoo.stop()
        stop_cluster(cluster)
        os.unlink(log.name)


if __name__ == "__main__":
    main()
