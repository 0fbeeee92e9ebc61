"""Fetcher nodes, smoke test (issue 13): a core that fetches nothing itself
and one fetcher node with no database settings at all backfill a few assets
over CAF's middleman on loopback. The full cluster suite (two nodes, kill -9,
SIGSTOP, partitions, TLS, protocol mismatch) is test_cluster*.py."""

import json
import os
import socket
import subprocess
import tempfile
from pathlib import Path

from harness import BINARY, FAST, Daemon, PipelineTest, wait_until

ASSETS = 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FetcherNode(Daemon):
    """`backfilld --role=fetcher`: no --db.url, no database variables."""

    def __init__(self, core_port, base_url, name, extra_args=(), env=None):
        self.log_file = tempfile.NamedTemporaryFile(
            prefix="backfilld-node-", suffix=".log", delete=False)
        self.args = [BINARY, "--role=fetcher", f"--core=127.0.0.1:{core_port}",
                     f"--cluster.node-name={name}",
                     f"--yahoo.base-url={base_url}", *FAST, *extra_args]
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("BACKFILL_DB", "PG"))}
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            self.args, stdout=self.log_file, stderr=subprocess.STDOUT,
            env=full_env)
        self.returncode = None


class OneNode(PipelineTest):

    def start_node(self, core_port, name, *extra_args, env=None):
        node = FetcherNode(core_port, self.yahoo.base_url, name, extra_args,
                           env)
        self.daemons.append(node)
        return node

    def test_a_node_without_a_database_backfills_for_its_core(self):
        port = free_port()
        core = self.start_daemon("--role=core", f"--cluster.port={port}",
                                 "--cluster.node-name=core",
                                 "--cluster.heartbeat-interval=300ms",
                                 "--fetch.concurrency=0")
        core.wait_for(rf"cluster gate listening on 127.0.0.1:{port}")
        node = self.start_node(port, "n1")
        node.wait_for(rf"joined core 127.0.0.1:{port} as n1")
        core.wait_for(r"node n1 joined \(protocol 1\)")
        for i in range(1, ASSETS + 1):
            self.db.add_asset(i, f"N{i}")
            self.db.buy(i)
        wait_until(lambda: all(self.db.job_done(i) for i in
                               range(1, ASSETS + 1)),
                   timeout=60, what="every backfill done")
        for i in range(1, ASSETS + 1):
            self.assertGreater(self.db.price_count(i), 0)
            # One request per symbol: nothing fetched twice.
            self.assertEqual(len(self.yahoo.requests(f"N{i}")), 1)
        self.assertEqual(self.db.duplicate_prices(), 0)
        # Every line of both names its node.
        for line in node.output().splitlines():
            self.assertIn("[node n1]", line)
        # The node's fetches went through the node, not the core.
        self.assertIn("GET ", node.output())
        self.assertNotIn("GET ", core.output())
        # `status` lists the node with what it did.
        def listed(state):
            code, out = self.run_cli("status", "--json")
            self.assertEqual(code, 0, out)
            nodes = json.loads(out)["nodes"]
            return (len(nodes) == 1 and nodes[0]["name"] == "n1"
                    and nodes[0]["state"] == state
                    and nodes[0]["done"] == ASSETS and nodes[0])
        wait_until(lambda: listed("connected"), timeout=20,
                   what="n1 connected in status")
        code, out = self.run_cli("status")
        self.assertRegex(out, r"Fetcher nodes\n.*\nn1 +connected")
        self.assertEqual(node.stop(), 0)
        core.wait_for(r"node n1 lost \(disconnected\): 0 jobs handed back")
        wait_until(lambda: listed("lost"), timeout=20,
                   what="n1 lost in status")
        self.stop_daemon(core)

    def test_json_lines_of_core_and_node_name_their_node(self):
        port = free_port()
        core = self.start_daemon("--role=core", f"--cluster.port={port}",
                                 "--cluster.node-name=core-j",
                                 "--log.format=json",
                                 "--fetch.concurrency=0")
        core.wait_for(rf"cluster gate listening on 127.0.0.1:{port}")
        node = self.start_node(port, "n-json", "--log.format=json")
        node.wait_for(rf"joined core 127.0.0.1:{port} as n-json")
        self.db.add_asset(1, "J1")
        self.db.buy(1)
        wait_until(lambda: self.db.job_done(1), timeout=60,
                   what="the backfill done")
        self.assertEqual(node.stop(), 0)
        self.stop_daemon(core)
        for proc, name in ((core, "core-j"), (node, "n-json")):
            lines = proc.output().splitlines()
            self.assertTrue(lines)
            for line in lines:
                record = json.loads(line)
                self.assertEqual(record["node"], name, line)
