"""`yahoo.ca-file` adds a CA to the system's bundle; it never replaces it.

Each test CA stands for one side: the "system" bundle is OpenSSL's
SSL_CERT_FILE (which backfilld honours like any OpenSSL program), the extra
one is yahoo.ca-file. A server certified by either is trusted."""

import shutil
import subprocess
import tempfile
import unittest

from harness import HERE, FakeYahoo, PipelineTest, wait_until


class CaFile(PipelineTest):

    def setUp(self):
        if shutil.which("openssl") is None:
            self.skipTest("openssl not installed")
        self.system = tempfile.mkdtemp(prefix="backfilld-system-ca-")
        self.extra = tempfile.mkdtemp(prefix="backfilld-extra-ca-")
        for outdir in (self.system, self.extra):
            subprocess.run([str(HERE.parent / "fake_provider"
                                / "make_test_ca.sh"), outdir], check=True)
        super().setUp()
        self.servers = {
            name: FakeYahoo(tls_cert=f"{d}/server.pem",
                            tls_key=f"{d}/server.key").start()
            for name, d in (("system", self.system), ("extra", self.extra))}

    def tearDown(self):
        for server in self.servers.values():
            server.stop()
        super().tearDown()
        shutil.rmtree(self.system, ignore_errors=True)
        shutil.rmtree(self.extra, ignore_errors=True)

    def fetch_from(self, name, asset_id, *args, done=True):
        daemon = self.start_daemon(
            "--retry.max-attempts=1", *args,
            base_url=self.servers[name].base_url,
            env={"SSL_CERT_FILE": f"{self.system}/ca.pem"})
        symbol = f"{name.upper()}{asset_id}"
        self.db.add_asset(asset_id, symbol)
        self.db.buy(asset_id)
        if done:
            wait_until(lambda: self.db.job_done(asset_id),
                       what=f"{symbol} fetched over TLS")
        else:
            wait_until(lambda: self.db.job_failed(asset_id),
                       what=f"{symbol} refused")
            self.assertIn("network_error", self.db.job(asset_id)[2])
        self.stop_daemon(daemon)

    def test_the_extra_ca_is_trusted_besides_the_system_bundle(self):
        extra = f"--yahoo.ca-file={self.extra}/ca.pem"
        self.fetch_from("extra", 1, extra)
        self.fetch_from("system", 2, extra)

    def test_without_the_extra_ca_only_the_system_bundle_counts(self):
        self.fetch_from("extra", 3, done=False)

    def test_an_unreadable_ca_file_fails_fetches_visibly(self):
        self.fetch_from("system", 4, "--yahoo.ca-file=/nonexistent/ca.pem",
                        done=False)
        self.assertIn("cannot read yahoo.ca-file", self.db.job(4)[2])


if __name__ == "__main__":
    unittest.main()
