"""The cluster port over mutual TLS (issue 13, `cluster.tls=true`).

Two throwaway CAs made by the test (tests/fake_provider/make_test_ca.sh):
the core and the good node hold certificates from the first, a stranger
one from the second. A node from the right CA joins and works; a plain
node and the stranger are refused in the handshake, say so, and keep
trying (a certificate may be fixed later), while the good node carries on
undisturbed."""

import re
import shutil
import subprocess
import tempfile
import unittest

from cluster_harness import HERE, ClusterTest


def tls_args(directory):
    return ["--cluster.tls=true",
            f"--cluster.certificate={directory}/server.pem",
            f"--cluster.key={directory}/server.key",
            f"--cluster.cafile={directory}/ca.pem"]


class ClusterTls(ClusterTest):

    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("openssl not installed")
        cls.ours = tempfile.mkdtemp(prefix="backfilld-cluster-ca-")
        cls.theirs = tempfile.mkdtemp(prefix="backfilld-other-ca-")
        for outdir in (cls.ours, cls.theirs):
            subprocess.run([str(HERE.parent / "fake_provider"
                                / "make_test_ca.sh"), outdir], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.ours, ignore_errors=True)
        shutil.rmtree(cls.theirs, ignore_errors=True)

    def start_tls_core(self):
        core = self.start_core(*tls_args(self.ours))
        core.wait_for(rf"cluster gate listening on"
                      rf" {re.escape(self.core_endpoint)} \(TLS\)")
        return core

    def assert_refused(self, core, node, why=""):
        """The node says why it cannot connect (`why`, a regex), twice: it
        keeps trying. It never joins."""
        node.wait_for(rf"cannot connect to core"
                      rf" {re.escape(self.core_endpoint)}: {why}",
                      timeout=30, count=2)
        self.assertTrue(node.alive(), "a refused node keeps trying")
        self.assertNotIn("joined core", node.output())
        self.assertEqual(core.count(rf"node {node.name} joined"), 0)

    def test_a_node_with_a_certificate_from_our_ca_joins_and_works(self):
        core = self.start_tls_core()
        node = self.start_node("trusted", *tls_args(self.ours))
        core.wait_for(r"node trusted joined \(protocol \d+\)")
        ids = self.add_assets(12)
        self.wait_all_done(12)
        self.assertEqual(set(self.asked_by("trusted")),
                         set(self.symbols(ids)))
        self.assert_each_written_once(ids)
        self.stop_daemon(node)
        self.stop_daemon(core)

    def test_refused_nodes_do_not_disturb_the_joined_one(self):
        # A failed handshake once left its errors behind in CAF's OpenSSL
        # module and every other connection then failed: one plain or
        # foreign probe dropped every node.
        core = self.start_tls_core()
        trusted = self.start_node("trusted", *tls_args(self.ours))
        plain = self.start_node("plain", join=False)
        stranger = self.start_node("stranger", *tls_args(self.theirs),
                                   join=False)
        self.assert_refused(
            core, plain, r"the core closed the connection in the handshake"
            r" \(.*\): does the core use cluster.tls\?")
        self.assert_refused(core, stranger, r"TLS handshake failed \(")
        # The core says whom it refused, and why, once per address (the
        # repeats of these retrying nodes go to debug and the counter).
        refused = (r"refused a TLS handshake from 127\.0\.0\.1:\d+ \(.+\):"
                   r" a fetcher node needs cluster.tls=true")
        core.wait_for(refused)
        # OpenSSL's reasons: the plain node's first bytes are not TLS, the
        # stranger does not trust our CA's certificate.
        core.wait_for(r"refused a TLS handshake from 127\.0\.0\.1:\d+ "
                      r"\(wrong version number\)")
        core.wait_for(r"refused a TLS handshake from 127\.0\.0\.1:\d+ "
                      r"\(tlsv1 alert unknown ca\)")
        ids = self.add_assets(12)
        self.wait_all_done(12)
        self.assertEqual(set(self.asked_by("trusted")),
                         set(self.symbols(ids)))
        self.assertNotIn("lost core", trusted.output())
        self.assertEqual(core.count(r"node trusted lost"), 0)
        self.assert_each_written_once(ids)
        self.stop_daemon(core)


if __name__ == "__main__":
    unittest.main()
