"""Provider trouble: outages, throttling, bad answers, slow answers, TLS.
Each test asserts the end state in the database, not just that nothing
crashed."""

import shutil
import subprocess
import tempfile
import unittest

from harness import HERE, FakeYahoo, PipelineTest, wait_until


class Outage(PipelineTest):

    def test_a_hung_provider_backs_up_fetching_and_nothing_else(self):
        daemon = self.start_daemon("--fetch.concurrency=4", "--fetch.window=6",
                                   "--yahoo.timeout=3s")
        # An asset with prices: its tracking must not wait for the provider.
        self.db.add_asset(1, "OLD")
        self.db.execute("INSERT INTO asset_prices (asset_id, date, close)"
                        " VALUES (1, current_date - 3, 10)")
        self.yahoo.set_symbol("HANG1", fault="hang")
        self.yahoo.set_symbol("HANG2", fault="hang")
        self.db.add_asset(10, "HANG1")
        self.db.add_asset(11, "HANG2")
        self.db.buy(10)
        self.db.buy(11)
        wait_until(lambda: len(self.yahoo.requests()) >= 2,
                   what="two hung requests")
        # While two workers hang: other assets are fetched and written, and
        # tracking of priced assets goes on.
        for i in range(3):
            self.db.add_asset(20 + i, f"OK{i}")
            self.db.buy(20 + i)
        self.db.buy(1, portfolio=7)
        self.db.buy(1, portfolio=8)
        for i in range(3):
            wait_until(lambda i=i: self.db.job_done(20 + i), what=f"OK{i} done")
        wait_until(lambda: self.db.tracking(1) and self.db.tracking(1)[0] == 2,
                   what="tracking of OLD")
        self.assertFalse(self.db.job_done(10))
        # The provider comes back: the hung fetches time out, are retried,
        # and every asset completes.
        self.yahoo.set_symbol("HANG1", fault=None)
        self.yahoo.set_symbol("HANG2", fault=None)
        wait_until(lambda: self.db.job_done(10) and self.db.job_done(11),
                   timeout=30, what="hung assets done")
        for asset in (10, 11, 20, 21, 22):
            self.assertGreater(self.db.price_count(asset), 250)
        self.assertEqual(self.db.duplicate_prices(), 0)
        self.stop_daemon(daemon)

    def test_a_provider_down_for_everyone_recovers(self):
        daemon = self.start_daemon()
        self.yahoo.set_global(fault="http_503", fault_times=6)
        for i in range(4):
            self.db.add_asset(30 + i, f"DOWN{i}")
            self.db.buy(30 + i)
        for i in range(4):
            wait_until(lambda i=i: self.db.job_done(30 + i), timeout=30,
                       what=f"DOWN{i} done")
        self.assertEqual(self.db.duplicate_prices(), 0)
        retried = self.db.scalar(
            "SELECT count(*) FROM backfill_jobs WHERE attempts > 1")
        self.assertGreater(retried, 0)
        self.stop_daemon(daemon)


class BadAnswers(PipelineTest):

    # fault → what the job records when the fault never ends
    FAULTS = {
        "http_500": "provider_unavailable: HTTP 500",
        "http_503": "provider_unavailable: HTTP 503",
        "html": "malformed_response: HTTP 200 with an HTML page",
        "not_json": "malformed_response: not JSON",
        "truncated": "malformed_response: not JSON",
        "result_null": "provider_unavailable: chart.result is empty",
        "mismatched_lengths": "malformed_response: indicator",
        "empty": "no_data",
    }

    def test_transient_bad_answers_are_retried_until_good(self):
        daemon = self.start_daemon()
        for n, fault in enumerate(self.FAULTS):
            symbol = f"T{n}"
            self.yahoo.set_symbol(symbol, fault=fault, fault_times=2)
            self.db.add_asset(100 + n, symbol)
            self.db.buy(100 + n)
        for n in range(len(self.FAULTS)):
            wait_until(lambda n=n: self.db.job_done(100 + n), timeout=30,
                       what=f"T{n} done")
            state, attempts, error = self.db.job(100 + n)
            self.assertEqual(attempts, 3, f"T{n}: two failures, one success")
            self.assertGreater(self.db.price_count(100 + n), 250)
        self.assertTrue(daemon.alive())
        self.stop_daemon(daemon)

    def test_persistent_bad_answers_fail_with_their_reason(self):
        daemon = self.start_daemon("--retry.max-attempts=2")
        for n, fault in enumerate(self.FAULTS):
            symbol = f"P{n}"
            self.yahoo.set_symbol(symbol, fault=fault)
            self.db.add_asset(200 + n, symbol)
            self.db.buy(200 + n)
        for n, reason in enumerate(self.FAULTS.values()):
            wait_until(lambda n=n: self.db.job_failed(200 + n), timeout=30,
                       what=f"P{n} failed")
            state, attempts, error = self.db.job(200 + n)
            self.assertEqual(attempts, 2)
            self.assertIn("gave up after 2 attempts: " + reason, error)
            self.assertEqual(self.db.price_count(200 + n), 0)
            self.assertIsNone(self.db.tracking(200 + n))
        self.stop_daemon(daemon)

    def test_null_and_invalid_bars_are_skipped_and_counted(self):
        daemon = self.start_daemon()
        self.yahoo.set_symbol("NULLS", fault="nulls")
        self.yahoo.set_symbol("NANS", fault="nan_negative")
        self.yahoo.set_symbol("DUPE", fault="duplicate_last")
        self.db.add_asset(1, "NULLS")
        self.db.add_asset(2, "NANS")
        self.db.add_asset(3, "DUPE")
        self.db.add_asset(4, "CLEAN")
        for asset in (1, 2, 3, 4):
            self.db.buy(asset)
        for asset in (1, 2, 3, 4):
            wait_until(lambda a=asset: self.db.job_done(a), what=f"{asset} done")
        clean = self.db.price_count(4)
        self.assertLess(self.db.price_count(1), clean * 0.85)
        self.assertLess(self.db.price_count(2), clean)
        self.assertEqual(self.db.price_count(3), clean)
        daemon.wait_for(r"Skipped \d+ bars of NULLS with missing or invalid")
        daemon.wait_for(r"Skipped \d+ bars of NANS with missing or invalid")
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM asset_prices WHERE close <= 0 OR open <= 0"
            " OR close = 'NaN'"), 0)
        self.assertEqual(self.db.duplicate_prices(), 0)
        self.stop_daemon(daemon)

    def test_a_huge_body_is_cut_off_at_the_cap(self):
        daemon = self.start_daemon("--yahoo.max-response-bytes=1000000",
                                   "--retry.max-attempts=2")
        self.yahoo.set_symbol("HUGE", fault="huge", huge_bytes=20_000_000)
        self.db.add_asset(1, "HUGE")
        self.db.buy(1)
        wait_until(lambda: self.db.job_failed(1), what="HUGE failed")
        self.assertIn("response_too_large", self.db.job(1)[2])
        self.assertTrue(daemon.alive())
        self.stop_daemon(daemon)

    def test_a_slow_loris_is_cut_by_the_total_timeout(self):
        # The announced length is within the size cap: only time can stop it.
        daemon = self.start_daemon("--yahoo.timeout=1s",
                                   "--yahoo.max-response-bytes=20000000")
        self.yahoo.set_symbol("SLOW", fault="slow_loris", fault_times=1)
        self.db.add_asset(1, "SLOW")
        self.db.buy(1)
        wait_until(lambda: self.db.job_done(1), timeout=30, what="SLOW done")
        self.assertEqual(self.db.job(1)[1], 2)
        daemon.wait_for(r"Fetching SLOW \(asset 1\) failed: .*Timeout")
        self.stop_daemon(daemon)


class Throttling(PipelineTest):

    def test_a_429_pauses_yahoo_and_costs_no_attempt(self):
        daemon = self.start_daemon("--fetch.concurrency=1")
        self.yahoo.set_symbol("FIRST", fault="http_429", fault_times=1,
                              retry_after=2)
        self.db.add_asset(1, "FIRST")
        self.db.buy(1)
        wait_until(lambda: self.yahoo.requests("FIRST"), what="the 429")
        self.db.add_asset(2, "SECOND")
        self.db.buy(2)
        wait_until(lambda: self.db.job_done(1) and self.db.job_done(2), timeout=30,
                   what="both done")
        daemon.wait_for(r"yahoo asked us to slow down; pausing its fetches"
                        r" for 2000 ms")
        throttled_at = self.yahoo.requests("FIRST")[0]["t"]
        later = [r["t"] for r in self.yahoo.requests() if r["t"] > throttled_at]
        # Nobody asked the provider again before Retry-After passed.
        self.assertTrue(later)
        self.assertGreaterEqual(min(later) - throttled_at, 1.9)
        # Throttling is not the job's fault: one attempt on the books.
        self.assertEqual(self.db.job(1)[1], 1)
        self.stop_daemon(daemon)


class Symbols(PipelineTest):

    def test_a_hostile_symbol_is_just_an_invalid_symbol(self):
        daemon = self.start_daemon()
        self.db.add_asset(1, "'); DROP TABLE assets;--")
        self.db.add_asset(2, "../../_control")
        self.db.buy(1)
        self.db.buy(2)
        wait_until(lambda: self.db.job_failed(1) and self.db.job_failed(2),
                   what="both failed")
        self.assertIn("invalid_symbol", self.db.job(1)[2])
        self.assertEqual(self.yahoo.requests(), [])
        self.assertEqual(self.db.scalar("SELECT count(*) FROM assets"), 2)
        self.stop_daemon(daemon)


class Tls(PipelineTest):

    def setUp(self):
        if shutil.which("openssl") is None:
            self.skipTest("openssl not installed")
        self.certs = tempfile.mkdtemp(prefix="backfilld-ca-")
        subprocess.run([str(HERE.parent / "fake_provider" / "make_test_ca.sh"),
                        self.certs], check=True)
        super().setUp()
        self.https = FakeYahoo(tls_cert=f"{self.certs}/server.pem",
                               tls_key=f"{self.certs}/server.key").start()

    def tearDown(self):
        self.https.stop()
        super().tearDown()
        shutil.rmtree(self.certs, ignore_errors=True)

    def test_the_test_ca_is_trusted_only_when_configured(self):
        trusting = self.start_daemon(f"--yahoo.ca-file={self.certs}/ca.pem",
                                     base_url=self.https.base_url)
        self.db.add_asset(1, "SECURE")
        self.db.buy(1)
        wait_until(lambda: self.db.job_done(1), what="fetched over TLS")
        self.stop_daemon(trusting)
        # Without the CA, verification refuses the same server.
        distrusting = self.start_daemon("--retry.max-attempts=1",
                                        base_url=self.https.base_url)
        self.db.add_asset(2, "SECURE2")
        self.db.buy(2)
        wait_until(lambda: self.db.job_failed(2), what="refused")
        self.assertIn("network_error", self.db.job(2)[2])
        self.assertEqual(self.db.price_count(2), 0)
        self.assertEqual(len(self.https.requests("SECURE2")), 0)
        self.stop_daemon(distrusting)


if __name__ == "__main__":
    unittest.main()
