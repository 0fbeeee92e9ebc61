"""The provider chain: fallbacks while Yahoo is down, the breaker that keeps
an outage cheap, and the answers a fallback must never store. Real binary,
real PostgreSQL, the fakes of Yahoo, Frankfurter, CoinGecko and Tiingo."""

import json
import time
import unittest

from harness import PipelineTest, wait_until

from fake_coingecko import FakeCoinGecko
from fake_frankfurter import FakeFrankfurter
from fake_tiingo import FakeTiingo


class ChainBase(PipelineTest):
    """The fakes of every provider and a daemon pointed at them."""

    def setUp(self):
        super().setUp()
        self.fx = FakeFrankfurter().start()
        self.cg = FakeCoinGecko().start()
        self.tiingo = FakeTiingo(api_key="k3y").start()

    def tearDown(self):
        super().tearDown()
        for fake in (self.fx, self.cg, self.tiingo):
            fake.stop()

    def start_chain(self, *extra, env=None):
        return self.start_daemon(
            f"--frankfurter.base-url={self.fx.base_url}",
            f"--coingecko.base-url={self.cg.base_url}",
            f"--tiingo.base-url={self.tiingo.base_url}", *extra, env=env)

    def sources(self, asset_id):
        return {row[0] for row in self.db.rows(
            "SELECT DISTINCT source FROM asset_prices WHERE asset_id = %s",
            (asset_id,))}

    def last_error(self, asset_id):
        job = self.db.job(asset_id)
        return (job[2] or "") if job else ""


class Chain(ChainBase):

    def test_yahoo_down_fallbacks_fill_fx_and_crypto_and_the_breaker_holds(self):
        cool_down = 2.0
        daemon = self.start_chain("--breaker.failures=2",
                                  f"--breaker.cool-down={int(cool_down)}s",
                                  "--breaker.successes=2")
        self.yahoo.set_global(fault="http_503")
        pairs = ["EURUSD", "EURGBP", "EURJPY", "EURCHF", "EURCAD", "EURAUD",
                 "EURSEK", "EURNOK"]
        coins = ["BTC", "ETH", "SOL", "ADA"]
        outage_start = time.monotonic()
        # New assets arrive through the outage, one every half second.
        assets = []
        for i, symbol in enumerate(pairs + coins):
            asset = 100 + i
            crypto = symbol in coins
            self.db.add_asset(asset, symbol,
                              asset_type="crypto" if crypto else "currency",
                              currency="USD" if crypto else symbol[3:])
            self.db.buy(asset)
            assets.append((asset, "coingecko" if crypto else "frankfurter"))
            time.sleep(0.5)
        for asset, source in assets:
            wait_until(lambda a=asset: self.db.job_done(a), timeout=30,
                       what=f"asset {asset} filled by a fallback")
            self.assertEqual(self.sources(asset), {source})
            self.assertGreater(self.db.price_count(asset), 200)
            # One rate a day: close (and adj_close) only, never a made-up
            # open, high or low.
            self.assertEqual(self.db.scalar(
                "SELECT count(*) FROM asset_prices WHERE asset_id = %s"
                " AND (open IS NOT NULL OR high IS NOT NULL"
                " OR low IS NOT NULL OR close <= 0)", (asset,)), 0)
        outage = time.monotonic() - outage_start
        # The breaker opened after two failures: from then on Yahoo saw one
        # probe per cool-down, not one request per asset (and refresh).
        asked = len(self.yahoo.requests())
        self.assertLessEqual(asked, 2 + outage / cool_down + 2,
                             f"{asked} requests in {outage:.1f}s")
        self.assertLess(asked, len(assets))
        daemon.wait_for(r"Provider yahoo is failing")
        # FX rows carry the day's rate as close and adjusted close.
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM asset_prices WHERE asset_id = 100"
            " AND (close IS NULL OR adj_close IS NULL OR close <> adj_close)"),
            0)
        # Yahoo comes back: after the cool-down, the next jobs probe it, and
        # good probes close the breaker (only a job can probe: new assets
        # arrive until it is closed). Then the next asset is Yahoo's.
        self.yahoo.set_global(fault=None)
        time.sleep(cool_down)
        recovering = ["EURDKK", "EURPLN", "EURHUF", "EURCZK"]
        for i, symbol in enumerate(recovering):
            if daemon.count(r"Provider yahoo is back"):
                break
            self.db.add_asset(200 + i, symbol, asset_type="currency",
                              currency=symbol[3:])
            self.db.buy(200 + i)
            wait_until(lambda a=200 + i: self.db.job_done(a), timeout=20,
                       what=symbol)
        daemon.wait_for(r"Provider yahoo is back", timeout=10)
        self.db.add_asset(300, "EURSGD", asset_type="currency", currency="SGD")
        self.db.buy(300)
        wait_until(lambda: self.db.job_done(300), timeout=20, what="EURSGD")
        self.assertEqual(self.sources(300), {"yahoo"})
        self.stop_daemon(daemon)

    def test_a_fallback_answering_html_with_200_stores_nothing(self):
        daemon = self.start_chain()
        self.yahoo.set_symbol("EURUSD=X", fault="http_503")
        self.fx.set_symbol("EUR/USD", fault="html")
        self.db.add_asset(1, "EURUSD", asset_type="currency", currency="USD")
        self.db.buy(1)
        wait_until(lambda: "frankfurter: malformed_response" in
                   self.last_error(1), timeout=20, what="the HTML refused")
        self.assertIn("yahoo: provider_unavailable: HTTP 503",
                      self.last_error(1))
        self.assertGreater(len(self.fx.requests()), 0)
        self.assertEqual(self.db.price_count(1), 0)
        self.stop_daemon(daemon)

    def test_a_fallback_in_another_currency_is_refused(self):
        daemon = self.start_chain()
        self.yahoo.set_symbol("EURUSD=X", fault="http_503")
        # The tracker prices this asset in francs; Frankfurter quotes USD.
        self.db.add_asset(1, "EURUSD", asset_type="currency", currency="CHF")
        self.db.buy(1)
        wait_until(lambda: "frankfurter: quotes USD, but the asset is in CHF"
                   in self.last_error(1), timeout=20,
                   what="the currency refused")
        self.assertEqual(self.db.price_count(1), 0)
        self.stop_daemon(daemon)

    def test_a_fallback_disagreeing_with_the_stored_history_is_refused(self):
        daemon = self.start_chain()
        self.yahoo.set_symbol("EURUSD=X", fault="http_503")
        self.db.add_asset(1, "EURUSD", asset_type="currency", currency="USD")
        # Stored on a basis five times off Frankfurter's.
        self.db.execute(
            "INSERT INTO asset_prices (asset_id, date, close, source)"
            " SELECT 1, d::date, 5.5, 'yahoo' FROM generate_series("
            "current_date - 40, current_date - 3, '1 day') d"
            " WHERE extract(isodow FROM d) < 6")
        stored = self.db.price_count(1)
        self.db.buy(1, when="now() - interval '30 days'")
        wait_until(lambda: any(
            "disagrees with the stored history" in (row[0] or "")
            for row in self.db.rows(
                "SELECT last_error FROM backfill_jobs WHERE asset_id = 1")),
                   timeout=20, what="the other basis refused")
        self.assertEqual(self.db.price_count(1), stored)
        self.assertEqual(self.sources(1), {"yahoo"})
        self.stop_daemon(daemon)

    def test_a_stock_without_a_keyed_provider_fails_saying_so(self):
        daemon = self.start_chain('--providers.stock=["tiingo"]')
        self.db.add_asset(1, "AAPL")
        self.db.buy(1)
        wait_until(lambda: "no usable provider for stock assets" in
                   self.last_error(1), timeout=20, what="the reason")
        self.assertIn("tiingo: no API key", self.last_error(1))
        self.assertEqual(len(self.tiingo.requests()), 0)
        self.assertEqual(len(self.yahoo.requests()), 0)
        self.stop_daemon(daemon)

    def test_tiingo_with_its_key_fills_a_stock_while_yahoo_is_down(self):
        daemon = self.start_chain(env={"BACKFILL_TIINGO_API_KEY": "k3y"})
        self.yahoo.set_symbol("AAPL", fault="http_503")
        self.db.add_asset(1, "AAPL", currency="USD")
        self.db.buy(1)
        wait_until(lambda: self.db.job_done(1), timeout=20, what="AAPL")
        self.assertEqual(self.sources(1), {"tiingo"})
        sent = self.tiingo.requests()[0]
        self.assertEqual(sent["headers"].get("authorization"), "Token k3y")
        self.assertNotIn("k3y", sent["path"] + str(sent["query"]))
        self.assertNotIn("k3y", daemon.output())
        self.stop_daemon(daemon)

    def test_with_yahoo_alone_a_failure_reads_as_before(self):
        daemon = self.start_chain('--providers.fx=["yahoo"]')
        self.yahoo.set_symbol("EURUSD=X", fault="http_503")
        self.db.add_asset(1, "EURUSD", asset_type="currency", currency="USD")
        self.db.buy(1)
        wait_until(lambda: self.last_error(1), timeout=20, what="a failure")
        self.assertTrue(self.last_error(1).startswith(
            "provider_unavailable: HTTP 503"), self.last_error(1))
        self.assertEqual(len(self.fx.requests()), 0)
        self.stop_daemon(daemon)


class ProviderStatusAndSources(ChainBase):
    """What `backfilld status` says of each provider, and an asset whose
    tracker row names its own source."""

    def status_json(self):
        code, out = self.run_cli("status", "--json")
        self.assertEqual(code, 0, out)
        return json.loads(next(line for line in out.splitlines()
                               if line.startswith("{")))

    def providers(self, doc):
        return {p["provider"]: p for p in doc["providers"]}

    def test_status_shows_breakers_pauses_and_error_ratios(self):
        daemon = self.start_chain("--providers.state-interval=1s",
                                  "--breaker.failures=2",
                                  "--breaker.cool-down=120s")
        self.yahoo.set_global(fault="http_503")
        # Frankfurter throttles once, asking for a long pause: it shows as
        # throttled, and the job waits for it in the table, not in memory.
        self.fx.set_symbol("EUR/GBP", fault="http_429", fault_times=1,
                           retry_after=300)
        for i, symbol in enumerate(["EURUSD", "EURJPY", "EURCHF"]):
            self.db.add_asset(10 + i, symbol, asset_type="currency",
                              currency=symbol[3:])
            self.db.buy(10 + i)
        for i in range(3):
            wait_until(lambda a=10 + i: self.db.job_done(a), timeout=30,
                       what=f"asset {10 + i} from Frankfurter")
        self.db.add_asset(20, "EURGBP", asset_type="currency", currency="GBP")
        self.db.buy(20)

        def snapshot():
            doc = self.status_json()
            p = self.providers(doc)
            ready = (p.get("yahoo", {}).get("breaker") == "open" and
                     p.get("frankfurter", {}).get("throttled_until"))
            return doc if ready else None
        doc = wait_until(snapshot, timeout=30, what="status with both states")
        p = self.providers(doc)
        self.assertEqual(set(p), {"yahoo", "frankfurter", "coingecko",
                                  "tiingo"})
        yahoo = p["yahoo"]
        self.assertIsNotNone(yahoo["open_until"])
        self.assertGreaterEqual(yahoo["errors"], 2)
        self.assertEqual(yahoo["errors"], yahoo["requests"])
        self.assertEqual(yahoo["error_ratio"], 1.0)
        self.assertEqual(yahoo["window_seconds"], 300)
        self.assertFalse(yahoo["stale"])
        fx = p["frankfurter"]
        self.assertEqual(fx["breaker"], "closed")
        self.assertGreaterEqual(fx["requests"], 4)
        self.assertEqual(fx["errors"], 1)
        self.assertEqual(p["tiingo"]["breaker"], "off")
        self.assertIn("no API key", p["tiingo"]["note"])
        self.assertIsNone(p["coingecko"]["error_ratio"])
        # The throttled job went back to the table: nothing waits in the
        # daemon for five minutes. Yahoo was skipped for its open breaker and
        # Frankfurter asked for a pause, so the job waits for the pause with
        # no attempt counted (it used to burn its attempts in seconds).
        wait_until(lambda: "frankfurter: HTTP 429" in self.last_error(20),
                   timeout=20, what="the 429 in the job's error")
        wait_until(lambda: self.db.scalar(
            "SELECT state FROM backfill_jobs WHERE asset_id = 20") ==
            "pending", timeout=20, what="the job back in the table")
        self.assertEqual(self.db.scalar(
            "SELECT attempts FROM backfill_jobs WHERE asset_id = 20"), 0)
        self.assertGreater(self.db.scalar(
            "SELECT extract(epoch FROM next_attempt_at - now())"
            " FROM backfill_jobs WHERE asset_id = 20"), 200)
        code, table = self.run_cli("status")
        self.assertEqual(code, 0, table)
        self.assertRegex(table, r"Providers \(as of [0-9T:-]+Z\):")
        self.assertRegex(table, r"\n  yahoo +open until [0-9:]+Z +\d+/\d+ "
                                r"failed \(100%\) in the last 5 min")
        self.assertRegex(table, r"\n  frankfurter +closed, throttled until ")
        self.stop_daemon(daemon)
        # Nobody refreshes the snapshot any more: a minute later status says
        # so instead of showing it as current.
        self.db.execute("UPDATE backfilld_provider_state"
                        " SET updated_at = now() - interval '1 minute'")
        code, table = self.run_cli("status")
        self.assertIn("daemon not running?", table)
        self.assertTrue(all(p["stale"] for p in
                            self.status_json()["providers"]))

    def test_an_asset_row_naming_a_source_asks_it_first(self):
        daemon = self.start_chain()
        # Added while the daemon runs: read with each claim, no restart.
        self.db.execute("ALTER TABLE assets ADD COLUMN data_source text")
        # Yahoo is up and first in the crypto chain, but this row names
        # CoinGecko (spelt as Ghostfolio spells its data sources).
        self.db.add_asset(1, "BTC", asset_type="crypto", currency="USD")
        self.db.execute("UPDATE assets SET data_source = 'COINGECKO'"
                        " WHERE id = 1")
        self.db.buy(1)
        wait_until(lambda: self.db.job_done(1), timeout=20, what="BTC")
        self.assertEqual(self.sources(1), {"coingecko"})
        self.assertEqual(len(self.yahoo.requests()), 0)
        # The named source down: the rest of the chain still serves it.
        self.cg.set_symbol("ethereum", fault="http_503")
        self.db.add_asset(2, "ETH", asset_type="crypto", currency="USD")
        self.db.execute("UPDATE assets SET data_source = 'coingecko'"
                        " WHERE id = 2")
        self.db.buy(2)
        wait_until(lambda: self.db.job_done(2), timeout=20, what="ETH")
        self.assertEqual(self.sources(2), {"yahoo"})
        # A name that is no provider fails that asset's job, saying why;
        # the daemon goes on with the others.
        self.db.add_asset(3, "AMD")
        self.db.execute("UPDATE assets SET data_source = 'MANUAL'"
                        " WHERE id = 3")
        self.db.buy(3)
        self.db.add_asset(4, "AAPL")
        self.db.buy(4)
        wait_until(lambda: "is not a provider" in self.last_error(3),
                   timeout=20, what="the unknown source refused")
        self.assertIn('"MANUAL"', self.last_error(3))
        self.assertEqual(self.db.scalar(
            "SELECT permanent FROM backfill_jobs WHERE asset_id = 3"), True)
        wait_until(lambda: self.db.job_done(4), timeout=20, what="AAPL")
        self.assertEqual(self.db.price_count(3), 0)
        self.stop_daemon(daemon)

    def test_no_source_column_is_no_override(self):
        # The default column is absent: the chain as configured, no error.
        daemon = self.start_chain("--providers.source-column=no_such_column")
        self.db.add_asset(1, "BTC", asset_type="crypto", currency="USD")
        self.db.buy(1)
        wait_until(lambda: self.db.job_done(1), timeout=20, what="BTC")
        self.assertEqual(self.sources(1), {"yahoo"})
        self.stop_daemon(daemon)


if __name__ == "__main__":
    unittest.main()
