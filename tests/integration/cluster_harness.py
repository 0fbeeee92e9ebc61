"""Cluster harness (issue 13): a core and fetcher nodes as real processes.

Builds on harness.py: the core is its `Daemon` with `--role=core`; a
fetcher node is the same binary with `--role=fetcher --core=HOST:PORT`, no
database settings at all (BACKFILL_DB_* and libpq's PG* variables are
removed from its environment). Each node sends its own User-Agent, so the
fake Yahoo's request log says which node asked for what.
"""

import collections
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import unittest

from harness import (BINARY, FAST, HERE, Daemon, FakeYahoo,  # noqa: F401
                     PipelineTest, wait_until)

# Short heartbeats so that a lost node is noticed in seconds. The timeout
# is far shorter than the lease below: only the cluster's own hand-back can
# make a test finish in time, never the lease running out.
CLUSTER_FAST = [
    "--cluster.heartbeat-interval=500ms",
    "--cluster.heartbeat-timeout=2s",
    "--cluster.reconnect-max=2s",
]
LONG_LEASE = ["--queue.lease=120s", "--queue.heartbeat-interval=5s"]
# What a test may wait for a hand-back: well within LONG_LEASE.
WELL_WITHIN_LEASE = 45

# A node's own fetch settings: four requests at once, eight jobs in hand.
NODE_FETCH = ["--fetch.concurrency=4", "--fetch.window=8"]

USER_AGENT = "backfilld-test-node/"


def free_port(host="127.0.0.1"):
    """A TCP port nobody listens on right now (tests run in parallel)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Node(Daemon):
    """A fetcher node: `backfilld run --role=fetcher`, no database.

    `wrapper` runs it through another command (`ip netns exec NS`), which
    execs the binary: the pid stays the daemon's, so signals reach it.
    """

    def __init__(self, name, core, base_url, extra_args=(), env=None,
                 wrapper=()):
        # Daemon.__init__ would add --db.url: a node must not need one.
        self.name = name
        self.log_file = tempfile.NamedTemporaryFile(
            prefix=f"backfilld-node-{name}-", suffix=".log", delete=False)
        self.args = [*wrapper, BINARY, "run", "--role=fetcher",
                     f"--core={core}", f"--cluster.node-name={name}",
                     f"--yahoo.base-url={base_url}",
                     f"--yahoo.user-agent={USER_AGENT}{name}",
                     *FAST, *CLUSTER_FAST, *NODE_FETCH, *extra_args]
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("BACKFILL_DB_", "PG"))}
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            self.args, stdout=self.log_file, stderr=subprocess.STDOUT,
            env=full_env)
        self.returncode = None
        self.frozen = False

    def freeze(self):
        """SIGSTOP: alive, holding its sockets, saying nothing."""
        self.proc.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        if self.frozen:
            self.proc.send_signal(signal.SIGCONT)
            self.frozen = False

    def wait_exit(self, timeout=20.0):
        self.returncode = self.proc.wait(timeout)
        return self.returncode


class ClusterTest(PipelineTest):
    """A database, the fake Yahoo, a core and fetcher nodes on demand."""

    core_address = "127.0.0.1"

    def setUp(self):
        super().setUp()
        self.port = free_port(self.core_address)
        self.nodes = {}

    def tearDown(self):
        # A frozen node would ignore the harness's SIGTERM.
        for node in self.nodes.values():
            node.thaw()
        super().tearDown()

    @property
    def core_endpoint(self):
        return f"{self.core_address}:{self.port}"

    # -- processes ---------------------------------------------------------------

    def start_core(self, *extra_args, local_fetch=False, env=None):
        """The core; with `local_fetch` False it fetches nothing itself."""
        args = ["--role=core", f"--cluster.address={self.core_address}",
                f"--cluster.port={self.port}", "--cluster.node-name=core",
                *CLUSTER_FAST, *extra_args]
        if not local_fetch:
            args.append("--fetch.concurrency=0")
        core = self.start_daemon(*args, env=env)
        core.wait_for(r"cluster gate listening on "
                      + re.escape(self.core_endpoint))
        return core

    def start_node(self, name, *extra_args, env=None, wrapper=(), join=True,
                   base_url=None):
        node = Node(name, self.core_endpoint, base_url or self.yahoo.base_url,
                    extra_args, env, wrapper)
        self.nodes[name] = node
        self.daemons.append(node)
        if join:
            self.wait_joined(node)
        return node

    def wait_joined(self, node, count=1, timeout=20.0, core=None,
                    core_count=None):
        """The node says it joined `count` times; `core`, when given, says
        so `core_count` times (default `count`)."""
        node.wait_for(rf"joined core {re.escape(self.core_endpoint)}"
                      rf" as {re.escape(node.name)}\b",
                      timeout=timeout, count=count)
        if core is not None:
            core.wait_for(rf"node {re.escape(node.name)} joined \(protocol",
                          timeout=timeout, count=core_count or count)

    # -- the tracker's side ----------------------------------------------------

    def add_assets(self, n, prefix="N", first_id=1000):
        """`n` stocks with a transaction each, in two statements; their ids."""
        self.db.execute(
            "INSERT INTO assets (id, symbol, asset_type)"
            " SELECT %s + i, %s || lpad(i::text, 4, '0'), 'stock'"
            " FROM generate_series(0, %s - 1) i", (first_id, prefix, n))
        self.db.execute(
            "INSERT INTO transactions (portfolio_id, asset_id, quantity, price,"
            " timestamp) SELECT 1, %s + i, 10, 100, now()"
            " FROM generate_series(0, %s - 1) i", (first_id, n))
        return list(range(first_id, first_id + n))

    def symbols(self, ids):
        return [r[0] for r in self.db.rows(
            "SELECT symbol FROM assets WHERE id = ANY(%s) ORDER BY id",
            (list(ids),))]

    def done_count(self):
        return self.db.jobs_in("done")

    def wait_all_done(self, n, timeout=60.0):
        wait_until(lambda: self.done_count() >= n, timeout=timeout,
                   interval=0.2, what=f"{n} jobs done")

    # -- who asked the provider for what --------------------------------------

    def requests_by_node(self):
        """{node name: [symbol, …]} from the fake's request log; requests
        without a node's User-Agent (the core's own fetcher) under None."""
        by_node = collections.defaultdict(list)
        for r in self.yahoo.requests():
            agent = r.get("user_agent") or ""
            name = agent[len(USER_AGENT):] if agent.startswith(
                USER_AGENT) else None
            by_node[name].append(r["symbol"])
        return by_node

    def asked_by(self, name):
        return self.requests_by_node().get(name, [])

    def in_flight(self, name):
        """Symbols node `name` asked for that the fake has not answered:
        no result for them can have left the node yet."""
        agent = USER_AGENT + name
        return {r["symbol"] for r in self.yahoo.requests()
                if r.get("user_agent") == agent and r["status"] is None}

    # -- what the database ended with ------------------------------------------

    def assert_each_written_once(self, ids):
        """Every asset has prices, written by one transaction, one row a day."""
        with_prices = self.db.scalar(
            "SELECT count(DISTINCT asset_id) FROM asset_prices"
            " WHERE asset_id = ANY(%s)", (list(ids),))
        self.assertEqual(with_prices, len(ids), "every asset has prices")
        twice = self.db.rows(
            "SELECT asset_id, count(DISTINCT xmin::text) FROM asset_prices"
            " WHERE asset_id = ANY(%s) GROUP BY asset_id"
            " HAVING count(DISTINCT xmin::text) > 1", (list(ids),))
        self.assertEqual(twice, [], "assets written by more than one"
                         " transaction (asset_id, transactions)")
        self.assertEqual(self.db.duplicate_prices(), 0)

    def writes_of(self, ids):
        """{asset_id: (transactions that wrote its rows, newest day)}."""
        return {r[0]: (r[1], r[2]) for r in self.db.rows(
            "SELECT asset_id, array_agg(DISTINCT xmin::text ORDER BY"
            " xmin::text), max(date) FROM asset_prices"
            " WHERE asset_id = ANY(%s) GROUP BY asset_id", (list(ids),))}

    def assert_rejoins_without_rewrites(self, node, core, ids, written):
        """After a freeze or a partition: `node` joins again, its late
        results changed no stored row, and it takes new work."""
        self.wait_joined(node, count=2, core=core, timeout=30)
        self.assertEqual(self.writes_of(ids), written,
                         "a late result changed the stored rows")
        self.assert_each_written_once(ids)

        # Back in the cluster, the node takes work again.
        self.yahoo.set_global(delay_ms=300)
        more = self.add_assets(24, prefix="M", first_id=5000)
        self.wait_all_done(len(ids) + len(more), timeout=WELL_WITHIN_LEASE)
        self.assertTrue(
            set(self.asked_by(node.name)) & set(self.symbols(more)),
            f"{node.name} fetched nothing after rejoining")
        self.assert_each_written_once(ids + more)
        self.assertEqual(self.writes_of(ids), written)

    def status_json(self):
        """`backfilld status --json` against the core's database."""
        proc = subprocess.run(
            [BINARY, "status", "--json", f"--db.url={self.db.url}"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return json.loads(proc.stdout)

    def status_nodes(self):
        return {n["name"]: n for n in self.status_json().get("nodes", [])}


class NetworkNamespace:
    """Another host on this machine: a network namespace joined to the host
    by a veth pair, one /30 between them. Unique names per run; `remove()`
    takes everything down again (deleting the namespace deletes its end of
    the pair, and with it the host's end).

    `cut()` takes the namespace's end down: a partition. Connections across
    it stay half-open, nothing closes them. (Taking the host's end down
    instead would remove its route, and traffic would leave by the default
    route rather than time out.)
    """

    def __init__(self):
        tag = f"{os.getpid() % 100000:05d}{random.randrange(256):02x}"
        self.name = f"bfd-{tag}"
        self.host_dev = f"bfh{tag}"       # at most 15 characters
        self.ns_dev = f"bfn{tag}"
        block = random.randrange(1 << 14) * 4
        base = f"10.{200 + (block >> 16)}.{(block >> 8) & 255}"
        self.host_ip = f"{base}.{(block & 255) + 1}"
        self.ns_ip = f"{base}.{(block & 255) + 2}"
        self.made = False

    @staticmethod
    def _ip(*args, check=True):
        return subprocess.run(["ip", *args], capture_output=True, text=True,
                              timeout=30, check=check)

    def create(self):
        """Sets it up; `unittest.SkipTest` when this machine cannot."""
        if os.geteuid() != 0:
            raise unittest.SkipTest(
                "network namespaces unavailable: not root")
        if shutil.which("ip") is None:
            raise unittest.SkipTest(
                "network namespaces unavailable: no ip (iproute2)")
        for step in (["netns", "add", self.name],
                     ["link", "add", self.host_dev, "type", "veth",
                      "peer", "name", self.ns_dev]):
            made = self._ip(*step, check=False)
            if made.returncode != 0:
                self.remove()
                raise unittest.SkipTest(
                    "network namespaces unavailable: ip "
                    f"{' '.join(step)}: {made.stderr.strip()}")
            self.made = True
        try:
            self._ip("link", "set", self.ns_dev, "netns", self.name)
            self._ip("addr", "add", f"{self.host_ip}/30", "dev",
                     self.host_dev)
            self._ip("link", "set", self.host_dev, "up")
            self.exec_ip("addr", "add", f"{self.ns_ip}/30", "dev",
                         self.ns_dev)
            self.exec_ip("link", "set", "lo", "up")
            self.mend()
        except subprocess.CalledProcessError as e:
            self.remove()
            raise AssertionError(f"cannot set up {self.name}: {e.stderr}")
        return self

    def exec_ip(self, *args):
        return self._ip("netns", "exec", self.name, "ip", *args)

    @property
    def wrapper(self):
        """The command prefix that runs a program inside."""
        return ["ip", "netns", "exec", self.name]

    def cut(self):
        self.exec_ip("link", "set", self.ns_dev, "down")

    def mend(self):
        self.exec_ip("link", "set", self.ns_dev, "up")

    def remove(self):
        self._ip("netns", "del", self.name, check=False)
        self._ip("link", "del", self.host_dev, check=False)
