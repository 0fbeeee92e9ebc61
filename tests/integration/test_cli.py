"""The command line as an operator uses it: --help, --version, and `retry`
with a symbol that matches nothing, or nothing failed (issues 6 and 12)."""

import re
import subprocess
import unittest

from harness import BINARY, PipelineTest


def run(*args):
    proc = subprocess.run([BINARY, *args], capture_output=True, text=True,
                          timeout=30)
    return proc.returncode, proc.stdout, proc.stderr


class Help(unittest.TestCase):

    def test_help_shows_the_subcommands_and_the_tuned_options(self):
        for flag in ("--help", "-h", "help"):
            code, out, err = run(flag)
            self.assertEqual(code, 0, err)
            for command in ("migrate", "retry SYMBOL|ASSET_ID",
                            "retry --all-failed", "status", "--version",
                            "backfill SYMBOL|--asset-id N [--range 5y]",
                            "refresh --all|SYMBOL|--asset-id N",
                            "status [SYMBOL|--asset-id N] [--json]"):
                self.assertIn(command, out)
            # Grouped: a heading per group, its options below it.
            for group, option in (("db", "--db.url="),
                                  ("yahoo", "--yahoo.requests-per-second="),
                                  ("fetch", "--fetch.concurrency="),
                                  ("history", "--history.range="),
                                  ("shutdown", "--shutdown.grace="),
                                  ("log", "--log.level=")):
                self.assertRegex(out, rf"\n  {group}\n(    --.*\n)*    "
                                      rf"{re.escape(option)}")
            # Defaults as they are written in the INI file.
            self.assertRegex(out, r"--retry.revive-after=\S+ .*\[6h\]")
            self.assertRegex(out, r"--yahoo.requests-per-second=\S+ .*\[2\]")
            # Not CAF's four global options alone.
            self.assertNotRegex(out, r"(?m)^global options:")

    def test_help_never_shows_a_password(self):
        code, out, _ = run("--help", "--db.url=postgresql://u:hunter2@h/db")
        self.assertEqual(code, 0)
        self.assertNotIn("hunter2", out)

    def test_version_names_backfilld_and_its_libraries(self):
        code, out, err = run("--version")
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^backfilld \d+\.\d+\.\d+$")
        self.assertRegex(out, r"(?m)^CAF 0\.17\.\d+$")
        self.assertRegex(out, r"(?m)^libpqxx 6\.\d+\.\d+$")
        self.assertRegex(out, r"(?m)^libcurl \d+\.\d+\.\d+")

    def test_an_unknown_command_prints_the_help_and_fails(self):
        code, out, err = run("frobnicate")
        self.assertEqual(code, 2)
        self.assertIn("retry SYMBOL|ASSET_ID", err)


class Retry(PipelineTest):

    def test_a_symbol_that_matches_no_asset_is_an_error(self):
        code, out = self.run_cli("retry", "NOPE")
        self.assertNotEqual(code, 0, out)
        self.assertIn("no asset matches NOPE", out)
        self.assertNotIn("Retrying", out)

    def test_a_known_asset_with_nothing_failed_says_so(self):
        code, out = self.run_cli("migrate")
        self.assertEqual(code, 0, out)
        self.db.add_asset(12, "AMD")
        for target in ("AMD", "amd", "12"):
            code, out = self.run_cli("retry", target)
            self.assertEqual(code, 0, out)
            self.assertIn("Nothing to retry: no failed jobs of AMD (asset 12)",
                          out)
        code, out = self.run_cli("retry", "--all-failed")
        self.assertEqual(code, 0, out)
        self.assertIn("No failed jobs to retry", out)

    def test_failed_jobs_are_revived(self):
        code, out = self.run_cli("migrate")
        self.assertEqual(code, 0, out)
        self.db.add_asset(12, "AMD")
        self.db.execute("INSERT INTO backfill_jobs (asset_id, kind, state)"
                        " VALUES (12, 'backfill', 'failed')")
        code, out = self.run_cli("retry", "AMD")
        self.assertEqual(code, 0, out)
        self.assertIn("Retrying 1 failed job of AMD", out)
        self.assertEqual(self.db.job(12)[0], "pending")


if __name__ == "__main__":
    unittest.main()
