"""Per-provider limits: each provider's bucket holds its own rate in every
one-second window while others run at theirs, and a 429 pauses only the
provider that sent it. Real binary, real PostgreSQL, the fakes of Yahoo and
Frankfurter (whose request logs are the evidence)."""

from harness import PipelineTest, wait_until

from fake_frankfurter import CURRENCIES, FakeFrankfurter

YAHOO_RATE = 10
FX_RATE = 4
#: Requests reach a fake some milliseconds after their grant, and not all
#: equally late: a window this much shorter than a second absorbs that
#: delivery jitter (the limiter's own window is exact: tests/unit).
JITTER = 0.1


def busiest(times, length):
    """The most requests in any window (t - length, t]."""
    times = sorted(times)
    most, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - length:
            j += 1
        most = max(most, i - j + 1)
    return most


class ProviderLimits(PipelineTest):

    def setUp(self):
        super().setUp()
        self.fx = FakeFrankfurter().start()

    def tearDown(self):
        super().tearDown()
        self.fx.stop()

    def start_limited(self):
        # Bursts above one: without the one-second ceiling a full bucket
        # plus the second's refill would exceed the rate.
        return self.start_daemon(
            f"--frankfurter.base-url={self.fx.base_url}",
            '--providers.fx=["frankfurter"]',
            f"--yahoo.requests-per-second={YAHOO_RATE}", "--yahoo.burst=4",
            f"--frankfurter.requests-per-second={FX_RATE}",
            "--frankfurter.burst=3", "--frankfurter.concurrency=1",
            "--fetch.concurrency=8", "--fetch.window=16")

    def add_assets(self, stocks, pairs):
        """Stocks (Yahoo) and currency pairs (Frankfurter alone), mixed in
        the queue's order: a pair every fourth asset while they last."""
        quotes = sorted(CURRENCIES - {"EUR"})
        fx = [f"{b}{q}" for b in ["EUR", "USD", "GBP"] for q in quotes
              if q != b][:pairs]
        ids = []
        for n in range(stocks + pairs):
            asset = 1000 + n
            if n % 4 == 3 and fx:
                symbol = fx.pop(0)
                self.db.add_asset(asset, symbol, asset_type="currency",
                                  currency=symbol[3:])
            else:
                self.db.add_asset(asset, f"S{n:03d}")
            ids.append(asset)
        for asset in ids:
            self.db.buy(asset)
        return ids

    def test_each_provider_holds_its_rate_and_a_429_pauses_only_it(self):
        # The first Frankfurter request is throttled for 2 s.
        self.fx.set_global(fault="http_429", fault_times=1, retry_after=2)
        daemon = self.start_limited()
        ids = self.add_assets(stocks=200, pairs=60)
        wait_until(lambda: all(self.db.job_done(a) for a in ids), timeout=120,
                   interval=0.5, what="all 260 assets filled")
        yahoo = [r["t"] for r in self.yahoo.requests()]
        fx = [r["t"] for r in self.fx.requests()]
        self.assertGreaterEqual(len(yahoo), 200)
        self.assertGreaterEqual(len(fx), 61)
        for name, times, rate in (("yahoo", yahoo, YAHOO_RATE),
                                  ("frankfurter", fx, FX_RATE)):
            self.assertLessEqual(
                busiest(times, 1.0 - JITTER), rate,
                f"{name}: {busiest(times, 1.0)} requests in one second"
                f" (rate {rate})")
        # The 429 paused Frankfurter for its Retry-After (one request at a
        # time: none was in flight meanwhile) ...
        throttled_at = [r["t"] for r in self.fx.requests()
                        if r["status"] == 429][0]
        later = [t for t in fx if t > throttled_at]
        self.assertGreaterEqual(min(later) - throttled_at, 1.9)
        daemon.wait_for(r"frankfurter asked us to slow down; pausing its"
                        r" fetches for 2000 ms")
        # ... and Yahoo went on meanwhile at its own rate.
        during = [t for t in yahoo if throttled_at < t < throttled_at + 1.9]
        self.assertGreaterEqual(len(during), YAHOO_RATE, "Yahoo paused too")
        self.stop_daemon(daemon)
