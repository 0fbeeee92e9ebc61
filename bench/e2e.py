#!/usr/bin/python3
"""End-to-end benchmark of issue 11: N new assets through the real daemon,
next to raw COPY of the same rows and a naive baseline, in one run.

    bench/e2e.py [--sizes 100,500,2000] [--full] [--binary PATH]
                 [--writer-bench PATH] [--out DIR]

One throwaway PostgreSQL (scripts/pg-cluster.sh) and the cached fake Yahoo
(bench/bench_fake.py) serve every phase; each phase gets a fresh database.

- For each N: backfilld (no rate limit, otherwise default settings) is
  started on an empty database, N assets with one transaction each are
  inserted (50 assets a transaction, so the inserts are not the bound), and
  the clock runs until every asset's backfill job is done. Then the same
  rows are exported and loaded again with one raw COPY into the emptied
  asset_prices (primary key and foreign key in place): the ratio is
  backfilld's time over COPY's.
- Notify-to-stored latency: the job's ``finished_at`` (set by the queue in
  the transaction that marks the job done, which runs only after the
  prices committed) minus the commit time of the transaction that inserted
  the asset's transaction. No trigger is added, so nothing is measured that
  the daemon does not do anyway.
- The naive baseline (the original design): one asset at a time, fetch,
  parse, one INSERT per row, one commit per asset, on 500 assets.
- Unsaturated latency: assets inserted one every 100 ms.
- Provider latency: 150 ms per answer; the target is 90 % of
  fetch.concurrency / latency.
- Rate-limit fidelity: yahoo.requests-per-second=R (burst 1); the fake's
  request log gives the rate over the run and the busiest one-second window.
- Memory, threads, CPU: /proc/PID/status (VmRSS, VmHWM, Threads) sampled
  every 50 ms, /proc/PID/stat (utime + stime).
- The writer alone: bench_writer_methods on its own database.
- --repeat K (default 3): each N runs K times, each try with its own COPY
  right after it; the try with the median time / COPY is reported, with
  the range of all K.
- With --statements: PostgreSQL's own account of each N run
  (pg_stat_statements: the statements that took the most server time, with
  calls and rows), in statements.md. It shows which of the daemon's queries
  the database spends its time on.
- With --settle S: one more run of the largest N, after which the daemon
  idles S seconds (at least its longest request time-out, ~3 min by
  default) while its RSS is sampled every 10 s: CAF 0.17 keeps each
  request's time-out in its clock until it would fire, so "back near idle"
  can only show once they are gone.

Writes results.md, results.json and the data files for plot.gp into --out.
"""

import argparse
import io
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench_support import ROOT, start_cluster, stop_cluster, wait_until_logged

import psycopg2  # noqa: E402

from bench_fake import CachedYahoo  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")

# The environment the container, the systemd unit and scripts/run.sh give
# the daemon, so that its idle memory is measured as users run it.
DAEMON_ENV = {"GNUTLS_NO_IMPLICIT_INIT": "1"}


def proc_status(pid):
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    out = {}
    for key in ("VmRSS", "VmHWM", "Threads"):
        m = re.search(key + r":\s+(\d+)", text)
        if m:
            out[key] = int(m.group(1))
    return out


# How `idle_parts` splits resident memory.
MAPPING_KINDS = ("binary", "anonymous", "libraries")


def idle_parts(pid, binary):
    """Resident kB by kind of mapping (/proc/PID/smaps): the program's own
    file, anonymous mappings (heap, stacks, malloc arenas) and other files
    (the shared libraries; their copy-on-write pages count here too), or
    None if the process is gone."""
    parts = dict.fromkeys(MAPPING_KINDS, 0)
    kind = "anonymous"
    try:
        lines = Path(f"/proc/{pid}/smaps").read_text().splitlines()
    except OSError:
        return None
    binary = os.path.realpath(binary)
    for line in lines:
        fields = line.split(maxsplit=5)
        if re.match(r"[0-9a-f]+-[0-9a-f]+$", fields[0]):
            name = fields[5] if len(fields) > 5 else ""
            kind = ("binary" if name == binary else
                    "libraries" if name.startswith("/") else "anonymous")
        elif fields[0] == "Rss:":
            parts[kind] += int(fields[1])
    return parts


def library_floor(floor_bench, binary, env):
    """bench_library_floor on the daemon's DT_NEEDED list, with the
    environment the daemon gets: its `proc_status` and its RSS by kind of
    mapping (`idle_parts`), read as the daemon's are, in kB; None (and why,
    on stderr) if it cannot run."""
    try:
        dynamic = subprocess.run(["readelf", "-d", binary],
                                 capture_output=True, text=True, check=True,
                                 env={**os.environ, "LC_ALL": "C"}).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                            dynamic)
        if not needed:
            raise RuntimeError(f"readelf found no DT_NEEDED in {binary}")
        floor = subprocess.Popen(
            [floor_bench] + [f"{k}={v}" for k, v in env.items()] + needed,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    except (OSError, subprocess.CalledProcessError, RuntimeError) as e:
        print(f"e2e: no library floor: {e}", file=sys.stderr)
        return None
    result = {"libraries": len(needed)}
    if floor.stdout.readline().strip() == "ready":
        result.update(proc_status(floor.pid))
        result["parts_kib"] = idle_parts(floor.pid, floor_bench)
    floor.stdin.close()
    floor.wait(10)
    if "VmRSS" not in result or not result.get("parts_kib"):
        print("e2e: no library floor: bench_library_floor was not ready",
              file=sys.stderr)
        return None
    return result


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


class Sampler(threading.Thread):
    """VmRSS and Threads of the daemon every 50 ms, while it runs."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.peak_rss = 0
        self.peak_threads = 0

    def run(self):
        while not self.stop.is_set():
            st = proc_status(self.pid)
            self.peak_rss = max(self.peak_rss, st.get("VmRSS", 0))
            self.peak_threads = max(self.peak_threads, st.get("Threads", 0))
            time.sleep(0.05)


class Bench:
    def __init__(self, args):
        self.args = args
        self.cluster, self.url = start_cluster(
            "backfilld-e2e-", "postgres",
            "-c shared_preload_libraries=pg_stat_statements"
            " -c pg_stat_statements.track_planning=on"
            if args.statements else "")
        self.admin = psycopg2.connect(self.url)
        self.admin.autocommit = True
        if args.statements:
            with self.admin.cursor() as c:
                c.execute("CREATE EXTENSION pg_stat_statements")
        self.yahoo = CachedYahoo().start()
        self.serial = 0

    def close(self):
        self.yahoo.stop()
        self.admin.close()
        stop_cluster(self.cluster)

    def fresh_db(self):
        self.serial += 1
        name = f"bench{self.serial}"
        with self.admin.cursor() as c:
            c.execute(f"CREATE DATABASE {name}")
        return self.url.rsplit("/", 1)[0] + "/" + name

    def start_daemon(self, url, extra):
        log = tempfile.NamedTemporaryFile(prefix="backfilld-e2e-",
                                          suffix=".log", delete=False)
        argv = [self.args.binary, f"--db.url={url}",
                f"--yahoo.base-url={self.yahoo.base_url}",
                "--queue.poll-interval=200ms",
                # Other daemons on the machine may hold the default port.
                "--metrics.port=0"] + extra
        daemon = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                  env={**os.environ, **DAEMON_ENV})
        wait_until_logged(log.name, "listening", 60, daemon)
        return daemon, log.name

    @staticmethod
    def stop_daemon(daemon, log):
        daemon.terminate()
        daemon.wait(60)
        os.unlink(log)

    def insert_assets(self, conn, n, per_txn, pace=0.0):
        """Assets 1..n and one transaction each; the commit time of each."""
        inserted = {}
        cur = conn.cursor()
        for start in range(1, n + 1, per_txn):
            stop = min(start + per_txn - 1, n)
            cur.execute("INSERT INTO assets (id, symbol) SELECT i, 'S' || i"
                        " FROM generate_series(%s, %s) i", (start, stop))
            cur.execute("INSERT INTO transactions (portfolio_id, asset_id,"
                        " quantity, price, timestamp) SELECT 1, i, 1, 1, now()"
                        " FROM generate_series(%s, %s) i", (start, stop))
            conn.commit()
            now = time.time()
            for i in range(start, stop + 1):
                inserted[i] = now
            if pace:
                time.sleep(pace)
        return inserted

    @staticmethod
    def wait_done(conn, n, timeout):
        """Whether all n jobs are done before `timeout` seconds pass
        without progress.

        Polls the live jobs (along their partial index) and counts the done
        ones only when none is live; near the end often, before that every
        100 ms. Counting done jobs every 20 ms scanned the table each time:
        at N = 10,000 that poll took a tenth of PostgreSQL's time in the run
        it measured."""
        cur = conn.cursor()
        last, deadline = None, time.monotonic() + timeout
        while time.monotonic() < deadline:
            cur.execute("SELECT count(*) FROM backfill_jobs"
                        " WHERE state IN ('pending', 'running')")
            live, done = cur.fetchone()[0], 0
            if live == 0:
                cur.execute("SELECT count(*) FROM backfill_jobs"
                            " WHERE state = 'done'")
                done = cur.fetchone()[0]
            conn.commit()
            if done >= n:
                return True
            if (live, done) != last:
                last, deadline = (live, done), time.monotonic() + timeout
            time.sleep(0.1 if live > 20 else 0.01)
        return False

    @staticmethod
    def latencies(conn, inserted):
        cur = conn.cursor()
        cur.execute("SELECT asset_id, extract(epoch FROM finished_at)"
                    " FROM backfill_jobs WHERE state = 'done'")
        rows = cur.fetchall()
        conn.commit()
        return [(float(t) - inserted[a]) * 1000 for a, t in rows
                if a in inserted]

    def run_daemon(self, n, extra=(), pace=0.0, per_txn=50, copy=True,
                   settle=0):
        url = self.fresh_db()
        # No rate limit: the most the configuration allows (1,000/s), and
        # no per-provider bound below fetch.concurrency.
        daemon, log = self.start_daemon(url, ["--yahoo.requests-per-second="
                                              "1000", "--yahoo.burst=1000",
                                              "--yahoo.concurrency=64"]
                                        + list(extra))
        try:
            conn = psycopg2.connect(url)
            time.sleep(2)  # idle after start
            idle = proc_status(daemon.pid)
            idle_kinds = idle_parts(daemon.pid, self.args.binary)
            sampler = Sampler(daemon.pid)
            sampler.start()
            cpu0 = cpu_seconds(daemon.pid)
            if self.args.statements:
                with self.admin.cursor() as c:
                    c.execute("SELECT pg_stat_statements_reset()")
            t0 = time.monotonic()
            inserted = self.insert_assets(conn, n, per_txn, pace)
            if not self.wait_done(conn, n, 60):
                raise SystemExit(f"N={n}: not every job done")
            elapsed = time.monotonic() - t0
            cpu = cpu_seconds(daemon.pid) - cpu0
            lat = self.latencies(conn, inserted)
            statements = self.top_statements(url) if self.args.statements \
                else None
            time.sleep(3)
            after = proc_status(daemon.pid)
            sampler.stop.set()
            sampler.join()
            settled = []
            for t in range(10, settle + 1, 10):
                time.sleep(10)
                settled.append((t, proc_status(daemon.pid).get("VmRSS", 0)))
            cur = conn.cursor()
            cur.execute("SELECT count(*) FROM asset_prices")
            rows = cur.fetchone()[0]
            conn.commit()
            result = {
                "n": n, "rows": rows, "seconds": elapsed,
                "assets_per_s": n / elapsed, "rows_per_s": rows / elapsed,
                "cpu_s_per_1000": cpu / n * 1000,
                "lat_p50_ms": percentile(lat, 50),
                "lat_p95_ms": percentile(lat, 95),
                "lat_p99_ms": percentile(lat, 99),
                "idle_rss_kib": idle.get("VmRSS", 0),
                "idle_threads": idle.get("Threads", 0),
                "idle_parts_kib": idle_kinds,
                "peak_rss_kib": max(sampler.peak_rss, after.get("VmHWM", 0)),
                "peak_threads": sampler.peak_threads,
                "after_rss_kib": after.get("VmRSS", 0),
            }
            if settled:
                result["settled_rss_kib"] = settled
                result["settled_parts_kib"] = idle_parts(daemon.pid,
                                                         self.args.binary)
            if statements is not None:
                result["statements"] = statements
        finally:
            self.stop_daemon(daemon, log)
        if copy:
            result["copy_seconds"] = self.raw_copy(conn)
            result["ratio_to_copy"] = elapsed / result["copy_seconds"]
        conn.close()
        return result

    def top_statements(self, url, limit=12):
        """The run's statements in the run's database by total server time
        (planning included): [(ms, planning ms, calls, rows, statement)],
        the statement's whitespace folded."""
        with self.admin.cursor() as c:
            c.execute("SELECT s.total_exec_time + s.total_plan_time,"
                      " s.total_plan_time, s.calls, s.rows, s.query"
                      " FROM pg_stat_statements s JOIN pg_database d"
                      " ON d.oid = s.dbid WHERE d.datname = %s"
                      " ORDER BY 1 DESC LIMIT %s",
                      (url.rsplit("/", 1)[1], limit))
            return [(ms, plan, calls, rows, " ".join(query.split()))
                    for ms, plan, calls, rows, query in c.fetchall()]

    @staticmethod
    def raw_copy(conn):
        """The same rows out, asset_prices emptied, one COPY back in."""
        cur = conn.cursor()
        buf = io.BytesIO()
        cur.copy_expert("COPY asset_prices TO STDOUT", buf)
        cur.execute("TRUNCATE asset_prices")
        conn.commit()
        buf.seek(0)
        start = time.monotonic()
        cur.copy_expert("COPY asset_prices FROM STDIN", buf)
        conn.commit()
        return time.monotonic() - start

    def naive(self, n):
        """The original design: one asset at a time, per-row INSERTs."""
        url = self.fresh_db()
        # The schema comes from the daemon itself; it leaves at once.
        daemon, log = self.start_daemon(url, [])
        self.stop_daemon(daemon, log)
        conn = psycopg2.connect(url)
        cur = conn.cursor()
        cur.execute("INSERT INTO assets (id, symbol) SELECT i, 'S' || i"
                    " FROM generate_series(1, %s) i", (n,))
        conn.commit()
        query = "?range=1y&interval=1d&includeAdjustedClose=true"
        start = time.monotonic()
        rows = 0
        for i in range(1, n + 1):
            with urllib.request.urlopen(f"{self.yahoo.base_url}/v8/finance/"
                                        f"chart/S{i}{query}") as r:
                doc = json.loads(r.read())
            res = doc["chart"]["result"][0]
            quote = res["indicators"]["quote"][0]
            adj = res["indicators"]["adjclose"][0]["adjclose"]
            for k, ts in enumerate(res["timestamp"]):
                cur.execute(
                    "INSERT INTO asset_prices (asset_id, date, open, high,"
                    " low, close, adj_close, volume, source, fetched_at)"
                    " VALUES (%s, to_timestamp(%s)::date, %s, %s, %s, %s, %s,"
                    " %s, 'yahoo', now()) ON CONFLICT (asset_id, date)"
                    " DO UPDATE SET close = EXCLUDED.close",
                    (i, ts, quote["open"][k], quote["high"][k],
                     quote["low"][k], quote["close"][k], adj[k],
                     quote["volume"][k]))
                rows += 1
            conn.commit()
        elapsed = time.monotonic() - start
        conn.close()
        return {"n": n, "rows": rows, "seconds": elapsed,
                "assets_per_s": n / elapsed}

    def rate_fidelity(self, rate, n):
        url = self.fresh_db()
        self.yahoo.reset()
        daemon, log = self.start_daemon(url, [
            f"--yahoo.requests-per-second={rate}", "--yahoo.burst=1"])
        try:
            conn = psycopg2.connect(url)
            self.insert_assets(conn, n, 50)
            if not self.wait_done(conn, n, 60):
                raise SystemExit("rate run: not every job done")
            conn.close()
        finally:
            self.stop_daemon(daemon, log)
        times = sorted(self.yahoo.request_times())
        span = times[-1] - times[0]
        over_run = (len(times) - 1) / span if span > 0 else float("nan")
        busiest, j = 0, 0
        for i, t in enumerate(times):
            while times[j] <= t - 1.0:
                j += 1
            busiest = max(busiest, i - j + 1)
        return {"rate": rate, "requests": len(times), "span_s": span,
                "rate_over_run": over_run,
                "deviation_pct": (over_run - rate) / rate * 100,
                "busiest_second": busiest}

    def writer_methods(self, assets, days):
        url = self.fresh_db()
        out = subprocess.run([self.args.writer_bench, url, str(assets),
                              str(days)], check=True, capture_output=True,
                             text=True)
        return out.stdout


def median_try(tries):
    """The try with the median time / COPY, with every try's ratio beside
    it. The VM's speed moves by half within a minute (the same COPY took
    3.8 s and 7.0 s in one session), and backfilld's run and its COPY
    cannot run at the same moment: one pair alone says little."""
    ranked = sorted(tries, key=lambda r: r["ratio_to_copy"])
    median = dict(ranked[len(ranked) // 2])
    median["ratios"] = [r["ratio_to_copy"] for r in tries]
    return median


def machine():
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    pg = subprocess.run(["bash", "-c", "ls -d /usr/lib/postgresql/*/bin |"
                         " sort -V | tail -1"], capture_output=True,
                        text=True).stdout.strip()
    pgv = subprocess.run([pg + "/postgres", "--version"], capture_output=True,
                         text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": cpu,
            "ram_gib": round(int(mem) / 1024 / 1024, 1), "postgres": pgv,
            "kernel": platform.release(),
            "load_at_start": os.getloadavg()}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100,500,2000")
    p.add_argument("--full", action="store_true", help="adds N = 10,000")
    p.add_argument("--naive", type=int, default=500)
    p.add_argument("--rate", type=float, default=20)
    p.add_argument("--rate-assets", type=int, default=400)
    p.add_argument("--provider-latency-ms", type=int, default=150)
    p.add_argument("--writer-assets", type=int, default=200)
    p.add_argument("--binary", default=str(ROOT / "build-release" /
                                           "backfilld"))
    p.add_argument("--writer-bench", default=str(
        ROOT / "build-release" / "bench" / "bench_writer_methods"))
    p.add_argument("--floor-bench", default=str(
        ROOT / "build-release" / "bench" / "bench_library_floor"))
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    p.add_argument("--label", default="")
    p.add_argument("--daemon-arg", action="append", default=[],
                   help="passed to backfilld in the N runs, e.g."
                   " --daemon-arg=--fetch.concurrency=16")
    p.add_argument("--only-sizes", action="store_true",
                   help="only the N runs and the naive baseline")
    p.add_argument("--repeat", type=int, default=3,
                   help="runs of each N (each with its own COPY); the run"
                   " with the median time / COPY is reported")
    p.add_argument("--settle", type=int, default=0,
                   help="one more run of the largest N, then S seconds of"
                   " idle with RSS sampled every 10 s")
    p.add_argument("--statements", action="store_true",
                   help="PostgreSQL's time per statement in each N run"
                   " (pg_stat_statements), in statements.md")
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.full:
        sizes.append(10000)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    res = {"machine": machine(), "command": " ".join(sys.argv),
           "label": args.label, "started": time.strftime(
               "%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    bench = Bench(args)
    try:
        print("warming the fake's answers", file=sys.stderr)
        bench.yahoo.warm(f"S{i}" for i in range(1, max(sizes + [
            args.naive, args.rate_assets]) + 1))
        res["library_floor"] = library_floor(args.floor_bench, args.binary,
                                             DAEMON_ENV)
        print("writer methods", file=sys.stderr)
        res["writer_methods"] = (
            bench.writer_methods(args.writer_assets, 250)
            if args.writer_assets > 0 else "(not run: --writer-assets 0)")
        res["runs"] = []
        for n in sizes:
            tries = []
            for k in range(args.repeat):
                print(f"backfilld N={n} ({k + 1} of {args.repeat})",
                      file=sys.stderr)
                tries.append(bench.run_daemon(n, args.daemon_arg))
            res["runs"].append(median_try(tries))
        if args.settle > 0:
            print(f"backfilld N={max(sizes)}, then {args.settle} s idle",
                  file=sys.stderr)
            res["settle"] = bench.run_daemon(max(sizes), args.daemon_arg,
                                             settle=args.settle)
        print(f"naive N={args.naive}", file=sys.stderr)
        res["naive"] = bench.naive(args.naive)
        if args.only_sizes:
            res["paced"] = res["provider_latency"] = res["rate"] = None
            return
        print("unsaturated latency", file=sys.stderr)
        res["paced"] = bench.run_daemon(100, pace=0.1, per_txn=1, copy=False)
        print("provider latency", file=sys.stderr)
        bench.yahoo.set_global(delay_ms=args.provider_latency_ms)
        slow = bench.run_daemon(300, copy=False)
        bench.yahoo.set_global(delay_ms=None)
        slow["latency_ms"] = args.provider_latency_ms
        slow["bound_assets_per_s"] = 4 / (args.provider_latency_ms / 1000)
        res["provider_latency"] = slow
        print("rate fidelity", file=sys.stderr)
        res["rate"] = bench.rate_fidelity(args.rate, args.rate_assets)
    finally:
        bench.close()
        (out / "results.json").write_text(json.dumps(res, indent=1))
        if res.get("runs") and "naive" in res:
            report(res, out)
        if args.statements and res.get("runs"):
            report_statements(res, out)


def ratio_text(run):
    """time / COPY of the reported try, and the range over all tries."""
    ratios = run.get("ratios", [run["ratio_to_copy"]])
    if len(ratios) < 2:
        return f"{run['ratio_to_copy']:.2f}"
    return (f"**{run['ratio_to_copy']:.2f}** ({min(ratios):.2f}–"
            f"{max(ratios):.2f} in {len(ratios)} tries)")


def idle_memory_lines(res):
    """Where the first run's idle RSS goes, kind by kind next to the
    libraries' floor."""
    floor, first = res.get("library_floor"), res["runs"][0]
    parts = first.get("idle_parts_kib")
    if not floor or not parts or "parts_kib" not in floor:
        return []
    mib = lambda kib: f"{kib / 1024:.1f}"  # noqa: E731
    base = floor["parts_kib"]
    own = ", ".join(f"{kind} {mib(parts[kind] - base[kind])}"
                    for kind in MAPPING_KINDS)
    return ["", f"Idle memory (N={first['n']}, 2 s after start): "
            f"{mib(first['idle_rss_kib'])} MiB; by kind of mapping: the "
            f"binary {mib(parts['binary'])}, anonymous "
            f"{mib(parts['anonymous'])}, shared libraries (with their "
            f"copy-on-write pages) {mib(parts['libraries'])}. The libraries "
            f"alone (`bench_library_floor`: backfilld's {floor['libraries']}"
            " shared libraries loaded with the daemon's environment and "
            "libcurl initialised, nothing else run) hold "
            f"{mib(floor['VmRSS'])} MiB: its binary {mib(base['binary'])}, "
            f"anonymous {mib(base['anonymous'])}, shared libraries "
            f"{mib(base['libraries'])}. What backfilld adds: "
            f"{mib(first['idle_rss_kib'] - floor['VmRSS'])} MiB ({own})."]


def report(res, out):
    m = res["machine"]
    naive = res["naive"]
    lines = [
        f"# backfilld end to end {res['label']}", "",
        f"Run {res['started']}: `{res['command']}`", "",
        f"Machine: {m['nproc']} cores, {m['cpu']}, {m['ram_gib']} GiB RAM, "
        f"{m['postgres']} (fsync off), Linux {m['kernel']}; load average at "
        f"start {m['load_at_start'][0]:.2f}. **A VM shared with other "
        "work: its speed moves within minutes, so compare the ratios of one "
        "run, not absolute times; each N ran --repeat times, each try with "
        "its own COPY, and the try with the median ratio is shown.**", "",
        "| N | rows | seconds | assets/s | rows/s | raw COPY s | time / COPY"
        " | × naive throughput | latency p50/p95/p99 ms | CPU s / 1000 assets"
        " | idle RSS MiB (threads) | peak RSS MiB (threads) | RSS after MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    with open(out / "throughput.dat", "w") as dat:
        dat.write("# N assets_per_s copy_assets_per_s\n")
        for r in res["runs"]:
            lines.append(
                f"| {r['n']} | {r['rows']} | {r['seconds']:.2f} | "
                f"{r['assets_per_s']:.0f} | {r['rows_per_s']:.0f} | "
                f"{r['copy_seconds']:.2f} | {ratio_text(r)} | "
                f"{r['assets_per_s'] / naive['assets_per_s']:.1f} | "
                f"{r['lat_p50_ms']:.0f} / {r['lat_p95_ms']:.0f} / "
                f"{r['lat_p99_ms']:.0f} | {r['cpu_s_per_1000']:.2f} | "
                f"{r['idle_rss_kib'] / 1024:.1f} ({r['idle_threads']}) | "
                f"{r['peak_rss_kib'] / 1024:.1f} ({r['peak_threads']}) | "
                f"{r['after_rss_kib'] / 1024:.1f} |")
            dat.write(f"{r['n']} {r['assets_per_s']:.2f} "
                      f"{r['n'] / r['copy_seconds']:.2f}\n")
    lines += idle_memory_lines(res)
    st = res.get("settle")
    if st:
        curve = ", ".join(f"{t} s {kib / 1024:.1f}"
                          for t, kib in st.get("settled_rss_kib", []))
        lines += ["", f"Settling (--settle, one more N={st['n']} run): RSS "
                  f"idle {st['idle_rss_kib'] / 1024:.1f}, peak "
                  f"{st['peak_rss_kib'] / 1024:.1f}, 3 s after "
                  f"{st['after_rss_kib'] / 1024:.1f}; then MiB by seconds "
                  f"after: {curve}."]
        before, after = st.get("idle_parts_kib"), st.get("settled_parts_kib")
        if before and after:
            lines[-1] += (" By kind of mapping, idle → end of the settle: " +
                          ", ".join(f"{k} {before[k] / 1024:.1f} → "
                                    f"{after[k] / 1024:.1f}"
                                    for k in MAPPING_KINDS) +
                          " MiB (file-backed pages are code and data the run"
                          " touched, not memory to return).")
    with open(out / "latency.dat", "w") as dat:
        dat.write("# case p50 p95 p99\n")
        for r in res["runs"]:
            dat.write(f"\"N={r['n']} burst\" {r['lat_p50_ms']:.1f} "
                      f"{r['lat_p95_ms']:.1f} {r['lat_p99_ms']:.1f}\n")
        pc, pl, rate = res["paced"], res["provider_latency"], res["rate"]
        if pc is not None:
            dat.write(f"\"10/s paced\" {pc['lat_p50_ms']:.1f} "
                      f"{pc['lat_p95_ms']:.1f} {pc['lat_p99_ms']:.1f}\n")
    if pc is None:
        lines += ["", f"Naive baseline: {naive['n']} assets in "
                  f"{naive['seconds']:.2f} s = {naive['assets_per_s']:.1f} "
                  "assets/s. (--only-sizes: nothing else run.)"]
        (out / "results.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return
    lines += [
        "",
        f"Naive baseline (one asset at a time, per-row INSERTs, commit per "
        f"asset, Python): {naive['n']} assets, {naive['rows']} rows in "
        f"{naive['seconds']:.2f} s = {naive['assets_per_s']:.1f} assets/s.",
        "",
        f"Unsaturated (100 assets, one every 100 ms): notify-to-stored "
        f"p50/p95/p99 = {pc['lat_p50_ms']:.0f} / {pc['lat_p95_ms']:.0f} / "
        f"{pc['lat_p99_ms']:.0f} ms (target p99 < 100 ms + provider latency)",
        "",
        f"Provider latency {pl['latency_ms']} ms, 300 assets, default "
        f"fetch.concurrency=4: {pl['assets_per_s']:.1f} assets/s = "
        f"{pl['assets_per_s'] / pl['bound_assets_per_s'] * 100:.0f} % of "
        f"concurrency / latency ({pl['bound_assets_per_s']:.1f}/s; target "
        "≥ 90 %)",
        "",
        f"Rate limit R = {rate['rate']:g}/s (burst 1), "
        f"{rate['requests']} requests over {rate['span_s']:.1f} s: "
        f"{rate['rate_over_run']:.3f}/s ({rate['deviation_pct']:+.2f} %; "
        f"target within 2 %), busiest one-second window "
        f"{rate['busiest_second']} requests (target ≤ {rate['rate']:g})",
        "", "## The writer alone (bench_writer_methods)", "",
        res["writer_methods"]]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def report_statements(res, out):
    """statements.md: where PostgreSQL spent its time in each N run."""
    lines = [f"# PostgreSQL's time per statement {res['label']}", "",
             f"Run {res['started']}: `{res['command']}`", "",
             "pg_stat_statements over each N run (from the first insert to "
             "the last done job), planning included (track_planning); the "
             "statements are cut at 160 characters."]
    for r in res["runs"]:
        total = sum(s[0] for s in r["statements"]) or 1
        lines += ["", f"## N = {r['n']} ({r['seconds']:.1f} s)", "",
                  "| server ms | of which planning | share of these | calls "
                  "| rows | statement |",
                  "|---|---|---|---|---|---|"]
        for ms, plan, calls, rows, query in r["statements"]:
            text = query[:160].replace("|", "\\|")
            lines.append(f"| {ms:.0f} | {plan:.0f} | {ms / total * 100:.0f} % "
                         f"| {calls} | {rows} | `{text}` |")
    (out / "statements.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
