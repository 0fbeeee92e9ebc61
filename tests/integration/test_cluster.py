"""Fetcher nodes (issue 13): a core without a fetcher of its own and two
fetcher processes with no database, on loopback, against the fake Yahoo.

The lease is two minutes in the loss tests, so a test that waited for it
would time out: only the core's own hand-back of a lost node's jobs can
finish them in time. A frozen node's late answers are made different from
the ones its jobs get elsewhere (the fake's clock moves three days back in
between), so a late result that was written anyway would show as a second
transaction in the asset's rows."""

import collections
import re
import time
import unittest

from cluster_harness import (LONG_LEASE, WELL_WITHIN_LEASE, ClusterTest,
                             wait_until)

DAY = 86400


class Spread(ClusterTest):

    def start_two(self):
        core = self.start_core()
        for name in ("alpha", "beta"):
            self.wait_joined(self.start_node(name), core=core)
        return core

    def test_two_nodes_share_300_assets_and_fetch_each_once(self):
        core = self.start_two()
        # A little latency, so that both nodes have work in hand at once.
        self.yahoo.set_global(delay_ms=30)
        ids = self.add_assets(300)
        self.wait_all_done(300, timeout=120)

        by_node = self.requests_by_node()
        self.assertNotIn(None, by_node, "the core fetched (concurrency 0)")
        for name in ("alpha", "beta"):
            self.assertGreaterEqual(
                len(by_node[name]), 30,
                f"{name} did a real share: {len(by_node[name])} of 300")
        # The rows first: a failure below then says whether only requests
        # were repeated.
        self.assert_each_written_once(ids)
        asked = collections.Counter(r["symbol"] for r in self.yahoo.requests())
        self.assertEqual(set(asked), set(self.symbols(ids)))
        self.assertEqual([s for s, n in asked.items() if n != 1], [],
                         "symbols requested more than once")
        for node in self.nodes.values():
            self.stop_daemon(node)
        self.stop_daemon(core)

    def test_status_lists_the_nodes_with_their_jobs(self):
        self.start_two()
        self.yahoo.set_global(delay_ms=300)
        self.add_assets(60)
        # While the run goes on, status shows the jobs the nodes hold.
        wait_until(
            lambda: any(n["jobs_in_hand"] > 0 and n["state"] == "connected"
                        for n in self.status_nodes().values()),
            timeout=30, interval=0.2, what="status showing jobs in hand")
        self.wait_all_done(60, timeout=60)
        by_node = self.requests_by_node()

        # Settled: both connected, nothing in hand, and each node's count of
        # done jobs is what it asked the provider.
        def settled():
            nodes = self.status_nodes()
            return all(name in nodes and nodes[name]["done"]
                       == len(by_node[name]) for name in ("alpha", "beta")
                       ) and nodes
        nodes = wait_until(settled, timeout=15, interval=0.5,
                           what="status counting every node's jobs")
        for name in ("alpha", "beta"):
            node = nodes[name]
            self.assertEqual(node["state"], "connected")
            self.assertEqual(node["jobs_in_hand"], 0)
            self.assertEqual(node["failed"], 0)
            self.assertGreater(node["per_minute"], 0)
            for key in ("connected_since", "last_seen"):
                self.assertIsNotNone(node[key], f"{name}.{key}")

        # A node that leaves stays listed, as lost.
        self.nodes["beta"].kill()
        wait_until(lambda: self.status_nodes()["beta"]["state"] == "lost",
                   timeout=15, interval=0.5, what="beta listed as lost")
        nodes = self.status_nodes()
        self.assertEqual(nodes["beta"]["lost_reason"], "disconnected")
        self.assertEqual(nodes["alpha"]["state"], "connected")
        self.assertIsNone(nodes["alpha"]["lost_reason"])


class NodeLoss(ClusterTest):

    def hold_jobs_on_both(self, n):
        """`n` slow assets, and both nodes with requests in flight."""
        self.yahoo.set_global(delay_ms=1500)
        ids = self.add_assets(n)
        wait_until(lambda: len(self.asked_by("alpha")) >= 2
                   and len(self.asked_by("beta")) >= 2,
                   what="both nodes asking the provider")
        return ids

    def test_kill_9_hands_the_jobs_to_the_other_node_at_once(self):
        core = self.start_core(*LONG_LEASE)
        self.start_node("alpha")
        beta = self.start_node("beta")
        ids = self.hold_jobs_on_both(40)
        beta.kill()
        lost_at = time.monotonic()
        stranded = self.in_flight("beta")
        self.assertTrue(stranded, "beta had requests in flight")

        core.wait_for(r"node beta lost \(disconnected\): \d+ jobs handed back",
                      timeout=10)
        handed = int(re.search(r"node beta lost \(disconnected\): (\d+) jobs",
                               core.output()).group(1))
        self.assertGreaterEqual(handed, len(stranded))
        self.yahoo.set_global(delay_ms=None)
        self.wait_all_done(40, timeout=WELL_WITHIN_LEASE)
        self.assertLess(time.monotonic() - lost_at, WELL_WITHIN_LEASE)

        # What beta was fetching when it died was fetched again by alpha.
        self.assertLessEqual(stranded, set(self.asked_by("alpha")))
        self.assert_each_written_once(ids)
        self.assertEqual(core.count(r"node beta lost"), 1)
        self.stop_daemon(core)

    def test_a_frozen_node_is_dropped_and_its_late_results_ignored(self):
        core = self.start_core(*LONG_LEASE)
        self.start_node("alpha")
        # Answers that arrive while it is stopped are still read afterwards
        # (not timed out), so its late results are real series.
        beta = self.start_node("beta", "--yahoo.timeout=60s")
        ids = self.hold_jobs_on_both(40)
        beta.freeze()
        stranded = self.in_flight("beta")
        self.assertTrue(stranded, "beta had requests in flight")
        # Its answers leave the fake on the real clock; everything asked
        # from now on is three days older, so it differs from them. A
        # request beta sent just before it stopped may reach the fake's log
        # only now, so wait for all of them, not for a count taken above.
        wait_until(lambda: not self.in_flight("beta"),
                   what="the fake answering beta's requests")
        self.yahoo.set_now(time.time() - 3 * DAY)
        self.yahoo.set_global(delay_ms=None)

        core.wait_for(r"node beta lost \(heartbeat timeout\): \d+ jobs"
                      r" handed back", timeout=15)
        self.wait_all_done(40, timeout=WELL_WITHIN_LEASE)
        self.assertLessEqual(stranded, set(self.asked_by("alpha")))
        written = self.writes_of(ids)

        # Thawed, beta reads its answers and finds its core gone; whatever
        # it sends meanwhile reaches a session that no longer exists (the
        # core may not even see it). It joins again after a backoff.
        beta.thaw()
        self.assert_rejoins_without_rewrites(beta, core, ids, written)
        self.stop_daemon(core)


class CoreRestart(ClusterTest):

    def test_nodes_reconnect_to_a_restarted_core_and_the_run_completes(self):
        core = self.start_core()
        alpha = self.start_node("alpha")
        beta = self.start_node("beta")
        self.yahoo.set_global(delay_ms=1000)
        ids = self.add_assets(80)
        wait_until(lambda: self.done_count() >= 10, timeout=30,
                   what="the run under way")
        self.stop_daemon(core)
        self.assertLess(self.done_count(), 80, "the run was over already")
        for node in (alpha, beta):
            node.wait_for(rf"lost core {re.escape(self.core_endpoint)}"
                          r" \([^)]*\); reconnecting in")
            self.assertTrue(node.alive(), f"{node.name} gave up")

        again = self.start_core()
        for node in (alpha, beta):
            self.wait_joined(node, count=2, core=again, core_count=1,
                             timeout=30)
        self.wait_all_done(80, timeout=60)
        self.assert_each_written_once(ids)
        self.stop_daemon(again)


class RateCap(ClusterTest):

    def test_the_cluster_rate_is_shared_by_the_connected_nodes(self):
        core = self.start_core("--cluster.requests-per-second=8.0")
        cap = r"cluster rate cap now {} requests/s per provider"
        alpha = self.start_node("alpha")
        alpha.wait_for(cap.format(8))
        beta = self.start_node("beta")
        for node in (alpha, beta):
            node.wait_for(cap.format(4))
        self.stop_daemon(beta)
        core.wait_for(r"node beta lost \(disconnected\)")
        alpha.wait_for(cap.format(8), count=2)
        self.stop_daemon(core)

    def test_the_cores_own_fetcher_takes_a_share_too(self):
        core = self.start_core("--cluster.requests-per-second=8.0",
                               local_fetch=True)
        cap = r"\[rate-limiter\] cluster rate cap now {} requests/s"
        core.wait_for(cap.format(8))
        alpha = self.start_node("alpha")
        core.wait_for(cap.format(4))
        self.stop_daemon(alpha)
        core.wait_for(r"node alpha lost \(disconnected\)")
        core.wait_for(cap.format(8), count=2)
        self.stop_daemon(core)


class Protocol(ClusterTest):

    def test_a_node_of_another_protocol_is_refused_on_both_sides(self):
        core = self.start_core()
        node = self.start_node(
            "elder", env={"BACKFILLD_TEST_PROTOCOL_VERSION": "999"},
            join=False)
        self.assertEqual(node.wait_exit(30), 1, node.output())
        self.assertIn("core refused this node:", node.output())
        self.assertNotIn("joined core", node.output())
        core.wait_for(r"node elder refused: protocol 999, core speaks \d+")
        self.assertEqual(core.count(r"node elder joined"), 0)
        # The core still takes nodes of its own protocol.
        self.start_node("peer")
        core.wait_for(r"node peer joined \(protocol \d+\)")
        self.stop_daemon(core)


if __name__ == "__main__":
    unittest.main()
