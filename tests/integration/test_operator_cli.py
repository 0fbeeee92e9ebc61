"""The operator's one-shot commands (issue 8): `status` as a table and as
JSON, `backfill` through the production pipeline with its exit codes, and
`refresh`. The real binary, a real PostgreSQL and the fake provider."""

import datetime as dt
import json
import os
import pty
import select
import subprocess
import time
import unittest

from harness import BINARY, PipelineTest

# Fast enough for tests; everything else is the daemon's default.
ONE_SHOT = [
    "--queue.poll-interval=100ms",
    "--yahoo.requests-per-second=50",
    "--yahoo.burst=10",
    "--yahoo.timeout=5s",
    "--shutdown.grace=5s",
]


class OperatorCli(PipelineTest):

    unknown_symbols = ("ZZZZ",)

    def cli(self, command, *args):
        """(exit code, stdout, stderr) of a one-shot command."""
        proc = subprocess.run(
            [BINARY, command, f"--db.url={self.db.url}",
             f"--yahoo.base-url={self.yahoo.base_url}", *ONE_SHOT, *args],
            capture_output=True, text=True, timeout=120)
        return proc.returncode, proc.stdout, proc.stderr

    def status_json(self, *args):
        code, out, err = self.cli("status", "--json", *args)
        self.assertEqual(code, 0, out + err)
        return json.loads(out)

    def migrate(self):
        code, out, err = self.cli("migrate")
        self.assertEqual(code, 0, out + err)

    # -- status ----------------------------------------------------------------

    def test_status_on_a_fresh_database_says_how_work_arrives(self):
        code, out, err = self.cli("status")
        self.assertEqual(code, 0, out + err)
        self.assertIn("Nothing is tracked yet", out)
        self.assertIn("backfilld backfill SYMBOL", out)
        self.assertIn("Jobs by kind and state: none", out)
        doc = self.status_json()
        self.assertEqual(doc["assets"], [])
        self.assertEqual(doc["jobs"], [])
        self.assertEqual(doc["stale_after_trading_days"], 3)

    def test_backfill_stores_the_rows_and_status_shows_them(self):
        self.migrate()
        self.db.add_asset(12, "AMD")
        self.db.add_asset(13, "NVDA")
        self.db.buy(12)
        code, out, err = self.cli("backfill", "amd")
        self.assertEqual(code, 0, out + err)
        rows = self.db.price_count(12)
        self.assertGreater(rows, 200)
        self.assertRegex(out, rf"Backfilled AMD \(asset 12\): {rows} rows "
                              r"stored, \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d")
        self.assertEqual(self.db.job(12), ("done", 1, None))
        self.assertEqual(self.db.price_count(13), 0)
        # Not a terminal: plain progress lines, nothing drawn in place.
        self.assertRegex(err, r"(?m)^backfill AMD: 1/1 jobs, \d+ rows in \d+s$")
        self.assertNotIn("\r", err)
        self.assertNotIn("\x1b", err)

        code, out, err = self.cli("status")
        self.assertEqual(code, 0, out + err)
        line = next(l for l in out.splitlines() if l.startswith("AMD "))
        self.assertRegex(line, rf"^AMD +12 +{rows} +\d{{4}}-")
        self.assertIn("yahoo", line)
        self.assertIn("backfill done", line)
        self.assertIn("backfill done: 1", out)

        first, last = self.db.rows(
            "SELECT min(date)::text, max(date)::text FROM asset_prices"
            " WHERE asset_id = 12")[0]
        doc = self.status_json()
        self.assertEqual([a["symbol"] for a in doc["assets"]], ["AMD"])
        amd = doc["assets"][0]
        self.assertEqual(amd["asset_id"], 12)
        self.assertEqual(amd["rows"], rows)
        self.assertEqual(amd["first_date"], first)
        self.assertEqual(amd["last_date"], last)
        update = self.db.scalar(
            "SELECT to_char(last_price_update AT TIME ZONE 'UTC',"
            " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM tracked_assets"
            " WHERE asset_id = 12")
        self.assertIsNotNone(update)
        self.assertEqual(amd["last_update"], update)
        self.assertEqual(amd["tracking_users"], 1)
        self.assertEqual(amd["source"], "yahoo")
        self.assertEqual(amd["job"],
                         {"kind": "backfill", "state": "done", "attempts": 1})
        self.assertIsNone(amd["last_error"])
        self.assertFalse(amd["stale"])
        self.assertFalse(amd["inactive"])
        self.assertIsNone(amd["inactive_since"])
        self.assertEqual(amd["held_back"], 0)
        self.assertEqual(doc["jobs"],
                         [{"kind": "backfill", "state": "done", "count": 1}])
        # One asset by symbol or id; one that does not exist is an error.
        for target in (["AMD"], ["--asset-id", "12"]):
            doc = self.status_json(*target)
            self.assertEqual([a["asset_id"] for a in doc["assets"]], [12])
        code, out, err = self.cli("status", "NOPE")
        self.assertEqual(code, 1, out + err)
        self.assertIn("no asset matches NOPE", err)

    def test_on_a_terminal_progress_is_one_line_rewritten(self):
        self.migrate()
        self.db.add_asset(12, "AMD")
        master, slave = pty.openpty()
        try:
            proc = subprocess.run(
                [BINARY, "backfill", "AMD", f"--db.url={self.db.url}",
                 f"--yahoo.base-url={self.yahoo.base_url}", *ONE_SHOT],
                stdout=subprocess.PIPE, stderr=slave, timeout=120)
            os.close(slave)
            slave = None
            seen = b""
            while select.select([master], [], [], 0.5)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)
        self.assertEqual(proc.returncode, 0, seen)
        text = seen.decode()
        # Drawn in place: carriage returns and "erase to the end of the
        # line", one newline at the very end.
        self.assertTrue(text.startswith("\rbackfill AMD: 0/1 jobs"), text)
        self.assertIn("\x1b[K", text)
        self.assertRegex(text, r"\rbackfill AMD: 1/1 jobs, \d+ rows in \d+s"
                               "\x1b\\[K\r?\n$")
        self.assertEqual(text.count("\n"), 1, text)

    def test_backfill_by_asset_id(self):
        self.migrate()
        self.db.add_asset(12, "AMD")
        code, out, err = self.cli("backfill", "--asset-id", "12")
        self.assertEqual(code, 0, out + err)
        self.assertTrue(self.db.job_done(12))
        code, out, err = self.cli("backfill", "--asset-id=99")
        self.assertEqual(code, 1, out + err)
        self.assertIn("no asset has id 99", err)

    def test_an_unknown_symbol_is_an_error(self):
        code, out, err = self.cli("backfill", "NOPE")
        self.assertEqual(code, 1, out + err)
        self.assertIn("no asset matches NOPE", err)
        self.assertEqual(self.yahoo.requests(), [])

    def test_a_symbol_the_provider_does_not_know_fails_with_its_reason(self):
        self.migrate()
        self.db.add_asset(13, "ZZZZ")
        code, out, err = self.cli("backfill", "ZZZZ")
        self.assertEqual(code, 1, out + err)
        state, _, last_error = self.db.job(13)
        self.assertEqual(state, "failed")
        self.assertIn(f"backfill of ZZZZ (asset 13) failed: {last_error}", err)
        self.assertIn("symbol_not_found", last_error)
        # status: the failed job, its error in the table and whole in JSON.
        code, out, _ = self.cli("status")
        line = next(l for l in out.splitlines() if l.startswith("ZZZZ "))
        self.assertIn("backfill failed", line)
        self.assertIn(last_error[:20], line)
        self.assertIn("backfill failed: 1", out)
        zzzz = self.status_json()["assets"][0]
        self.assertEqual(zzzz["rows"], 0)
        self.assertIsNone(zzzz["first_date"])
        self.assertEqual(zzzz["job"]["state"], "failed")
        self.assertEqual(zzzz["last_error"], last_error)
        self.assertFalse(zzzz["stale"])

    def test_a_provider_failure_fails_with_the_reason_and_stays_queued(self):
        self.migrate()
        self.db.add_asset(12, "AMD")
        self.yahoo.set_symbol("AMD", fault="http_503")
        code, out, err = self.cli("backfill", "AMD")
        self.assertEqual(code, 1, out + err)
        state, attempts, last_error = self.db.job(12)
        self.assertEqual((state, attempts), ("pending", 1))
        self.assertIn("503", last_error)
        self.assertIn(f"backfill of AMD (asset 12) failed: {last_error}", err)
        self.assertIn("the job stays queued", err)
        self.assertEqual(self.db.price_count(12), 0)
        # Once the provider is back, the same command succeeds in that row.
        self.yahoo.set_symbol("AMD", fault="none")
        code, out, err = self.cli("backfill", "AMD")
        self.assertEqual(code, 0, out + err)
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM backfill_jobs WHERE asset_id = 12"), 1)

    def test_a_job_another_daemon_holds_is_awaited_not_fetched_twice(self):
        self.migrate()
        self.db.add_asset(12, "AMD")
        self.yahoo.set_symbol("AMD", delay_ms=3000)
        daemon = self.start_daemon()
        self.db.buy(12)
        daemon.wait_for(r"GET .*/AMD\?")
        code, out, err = self.cli("backfill", "AMD")
        self.assertEqual(code, 0, out + err)
        self.assertIn("AMD (asset 12): another backfilld is fetching it; "
                      "waiting for its outcome", err)
        self.assertIn("Backfilled AMD (asset 12)", out)
        self.assertEqual(len(self.yahoo.requests("AMD")), 1)
        self.assertTrue(self.db.job_done(12))
        self.stop_daemon(daemon)

    def test_range_fetches_older_history(self):
        self.migrate()
        self.db.add_asset(12, "AMD")
        code, out, err = self.cli("backfill", "AMD", "--range", "5y")
        self.assertEqual(code, 0, out + err)
        query = self.yahoo.requests("AMD")[-1]["query"]
        self.assertNotIn("range", query)
        five_years_ago = time.time() - 5 * 365 * 86400
        self.assertLessEqual(int(query["period1"]), five_years_ago)
        self.assertGreater(self.db.price_count(12), 5 * 250)
        first = self.db.scalar(
            "SELECT min(date) FROM asset_prices WHERE asset_id = 12")
        self.assertLessEqual(first, dt.date.today() - dt.timedelta(days=5 * 365))

    def test_usage_errors_exit_2(self):
        for args, message in (
                ((), "which asset?"),
                (("AMD", "--range", "5yr"), "--range 5yr is not a Yahoo range"),
                (("AMD", "NVDA"), "unexpected argument NVDA"),
                (("AMD", "--asset-id", "12"), "one way only"),
                (("--asset-id", "x"), "--asset-id wants a positive asset id"),
                (("AMD", "--json"), "--json is only for status")):
            code, out, err = self.cli("backfill", *args)
            self.assertEqual(code, 2, (args, out + err))
            self.assertIn(message, err)
            self.assertIn("usage: backfilld backfill SYMBOL|--asset-id N", err)
        code, out, err = self.cli("refresh")
        self.assertEqual(code, 2, out + err)
        self.assertIn("usage: backfilld refresh --all|SYMBOL|--asset-id N", err)

    def test_refresh_brings_assets_up_to_date(self):
        self.migrate()
        code, out, err = self.cli("refresh", "--all")
        self.assertEqual(code, 0, out + err)
        self.assertIn("Nothing to refresh", out)
        self.db.add_asset(12, "AMD")
        self.db.add_asset(13, "NVDA")
        self.db.buy(12)
        self.db.buy(13, portfolio=2)
        # Stored up to a week ago only: the refresh fills the days since.
        code, out, err = self.cli("backfill", "AMD")
        self.assertEqual(code, 0, out + err)
        self.db.execute("DELETE FROM asset_prices WHERE asset_id = 12"
                        " AND date > current_date - 7")
        self.db.execute("INSERT INTO tracked_assets VALUES (13, 1, NULL)"
                        " ON CONFLICT (asset_id) DO NOTHING")
        before = self.db.price_count(12)
        code, out, err = self.cli("refresh", "--all")
        self.assertEqual(code, 0, out + err)
        self.assertIn("Refreshed AMD (asset 12)", out)
        # NVDA waits for its first backfill, the daemon's (or `backfill`'s).
        self.assertNotIn("NVDA", out)
        self.assertGreater(self.db.price_count(12), before)
        self.assertEqual(self.db.price_count(13), 0)
        self.assertRegex(err, r"(?m)^refresh AMD: 1/1 jobs, \d+ rows in \d+s$")
        self.assertEqual(self.db.scalar(
            "SELECT priority FROM backfill_jobs WHERE kind = 'refresh'"), 1)
        # By name it is refreshed whatever it is, and a success revives an
        # inactive asset.
        self.db.execute("UPDATE backfilld_asset_state SET inactive_since ="
                        " now() WHERE asset_id = 12")
        code, out, err = self.cli("refresh", "--all")
        self.assertIn("Nothing to refresh", out)
        code, out, err = self.cli("refresh", "AMD")
        self.assertEqual(code, 0, out + err)
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM backfilld_asset_state"
            " WHERE inactive_since IS NOT NULL"), 0)

    # -- columns that come with the scheduled refresh and the outlier detector

    def test_stale_inactive_and_held_back_light_up(self):
        self.migrate()
        self.db.add_asset(12, "AMD")
        self.db.add_asset(13, "VOD.L")
        # AMD's newest price is three weeks old; VOD.L's is from today.
        self.db.execute(
            "INSERT INTO asset_prices (asset_id, date, close, source)"
            " VALUES (12, current_date - 21, 100, 'yahoo'),"
            "        (13, current_date, 70, 'yahoo')")
        # Nobody holds AMD: old prices are expected, not stale.
        doc = self.status_json()
        by_symbol = {a["symbol"]: a for a in doc["assets"]}
        self.assertFalse(by_symbol["AMD"]["stale"])
        self.db.execute("INSERT INTO tracked_assets VALUES (12, 1, NULL),"
                        " (13, 1, NULL)")
        doc = self.status_json()
        by_symbol = {a["symbol"]: a for a in doc["assets"]}
        self.assertTrue(by_symbol["AMD"]["stale"])
        self.assertGreaterEqual(by_symbol["AMD"]["missed_trading_days"], 14)
        self.assertFalse(by_symbol["VOD.L"]["stale"])
        code, out, _ = self.cli("status")
        line = next(l for l in out.splitlines() if l.startswith("AMD "))
        self.assertIn("stale", line)
        self.db.execute(
            "INSERT INTO backfilld_asset_state (asset_id, inactive_since,"
            " inactive_reason, last_error) VALUES (12, '2026-11-01 00:00Z',"
            " 'no data for 10 days', 'symbol_not_found: No data found')")
        self.db.execute(
            "INSERT INTO price_outliers (asset_id, date, close, reason)"
            " VALUES (13, current_date - 3, 0.7, 'pence as pounds'),"
            "        (13, current_date - 2, 7000, 'spike')")
        doc = self.status_json()
        by_symbol = {a["symbol"]: a for a in doc["assets"]}
        self.assertTrue(by_symbol["AMD"]["inactive"])
        self.assertEqual(by_symbol["AMD"]["inactive_since"], "2026-11-01")
        self.assertEqual(by_symbol["AMD"]["inactive_reason"],
                         "no data for 10 days")
        self.assertEqual(by_symbol["AMD"]["last_error"],
                         "symbol_not_found: No data found")
        self.assertEqual(by_symbol["VOD.L"]["held_back"], 2)
        self.assertFalse(by_symbol["VOD.L"]["inactive"])
        code, out, _ = self.cli("status")
        lines = {l.split()[0]: l for l in out.splitlines()[1:] if l}
        # Inactive: not refreshed any more, so not stale either.
        self.assertIn(" inactive", lines["AMD"])
        self.assertNotIn("stale", lines["AMD"])
        self.assertFalse(by_symbol["AMD"]["stale"])
        self.assertIn("held back 2", lines["VOD.L"])
        code, out, _ = self.cli("status", "AMD")
        self.assertIn("Inactive since 2026-11-01: no data for 10 days", out)


if __name__ == "__main__":
    unittest.main()
