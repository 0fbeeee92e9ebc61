"""Configuration that cannot silently go wrong (issue 10): unknown keys,
wrong types and out-of-range values stop start-up with one message naming
the key and its source; `check-config` shows every value with its source;
secrets may come from files and never appear in any output."""

import os
import re
import subprocess
import tempfile
import unittest

from harness import BINARY, PipelineTest

PASSWORD = "hunter2-sesame"
SECRET_URL = f"postgresql://app:{PASSWORD}@127.0.0.1:1/x"


def run(*args, env=None):
    """(exit code, stdout, stderr); nothing of ours from the caller's
    environment leaks in."""
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith("BACKFILL_")}
    full_env.update(env or {})
    proc = subprocess.run([BINARY, *args], capture_output=True, text=True,
                          timeout=30, env=full_env)
    return proc.returncode, proc.stdout, proc.stderr


class TempFiles(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="backfilld-config-")

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, text):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path


class UnknownKeys(TempFiles):

    def test_a_misspelt_key_in_the_file_stops_start_up(self):
        ini = self.write("typo.ini", "[yahoo]\nrequests-per-secnd=3.0\n")
        for command in ("run", "migrate", "status"):
            code, out, err = run(command, f"--config-file={ini}",
                                 f"--db.url={SECRET_URL}")
            self.assertEqual(code, 2, out + err)
            self.assertIn(f"unknown key yahoo.requests-per-secnd in {ini}; "
                          "did you mean yahoo.requests-per-second?", err)
            # One message, not a cascade.
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertNotIn(PASSWORD, out + err)

    def test_an_unknown_option_on_the_command_line_stops_start_up(self):
        code, out, err = run("--fetch.windw=3", f"--db.url={SECRET_URL}")
        self.assertEqual(code, 2, out + err)
        self.assertIn("unknown key fetch.windw on the command line; did you "
                      "mean fetch.window?", err)
        code, out, err = run("migrate", "stray", f"--db.url={SECRET_URL}")
        self.assertEqual(code, 2, out + err)
        self.assertIn("unexpected argument stray on the command line", err)

    def test_an_unknown_backfill_variable_stops_start_up(self):
        code, out, err = run("--db.url=" + SECRET_URL,
                             env={"BACKFILL_FETCH_WINDOE": "3"})
        self.assertEqual(code, 2, out + err)
        self.assertIn("unknown variable BACKFILL_FETCH_WINDOE in the "
                      "environment; did you mean BACKFILL_FETCH_WINDOW?", err)

    def test_a_key_far_from_any_suggests_nothing_misleading(self):
        ini = self.write("far.ini", "[frobnicator]\nzap=1\n")
        code, _, err = run("check-config", f"--config-file={ini}")
        self.assertEqual(code, 1, err)
        self.assertIn(f"unknown key frobnicator.zap in {ini}", err)
        self.assertNotIn("did you mean", err)

    def test_cafs_own_groups_are_accepted(self):
        ini = self.write("caf.ini", "[scheduler]\nmax-threads=2\n"
                                    "[logger]\nconsole='none'\n")
        code, out, err = run("check-config", f"--config-file={ini}",
                             "--middleman.workers=1")
        self.assertEqual(code, 0, out + err)
        self.assertRegex(out, rf"(?m)^scheduler\.max-threads = 2 +"
                              rf"\(file {re.escape(ini)}\)$")
        self.assertRegex(out, r"(?m)^middleman\.workers = 1 +\(command line\)$")


class WrongValues(TempFiles):

    def test_a_wrong_type_on_the_command_line_names_the_key(self):
        code, out, err = run("--fetch.window=abc", f"--db.url={SECRET_URL}")
        self.assertEqual(code, 2, out + err)
        self.assertIn('fetch.window must be an integer, not "abc" '
                      "(command line)", err)

    def test_a_wrong_type_in_the_file_names_the_key_and_the_file(self):
        # CAF alone would drop this value with a warning nobody sees.
        ini = self.write("type.ini", '[fetch]\nwindow="abc"\n')
        code, out, err = run(f"--config-file={ini}", f"--db.url={SECRET_URL}")
        self.assertEqual(code, 2, out + err)
        self.assertIn(f'fetch.window must be an integer, not "abc" '
                      f"(file {ini})", err)

    def test_a_syntax_error_in_the_file_names_the_line(self):
        ini = self.write("syntax.ini", "[log]\nlevel=debug\n")
        code, out, err = run("check-config", f"--config-file={ini}")
        self.assertEqual(code, 1, out + err)
        self.assertIn(f"config file {ini} is not valid INI", err)
        self.assertIn("line 2", err)

    def test_out_of_range_values_name_the_key_and_the_source(self):
        code, out, err = run("--fetch.concurrency=0",
                             f"--db.url={SECRET_URL}")
        self.assertEqual(code, 2, out + err)
        self.assertIn("fetch.concurrency must be within 1..64, not 0 "
                      "(command line)", out + err)
        self.assertNotIn(PASSWORD, out + err)
        code, out, err = run("check-config", "--fetch.concurrency=0")
        self.assertEqual(code, 1, out + err)
        self.assertIn("fetch.concurrency must be within 1..64", err)
        code, out, err = run("check-config", "--writer.connections=0")
        self.assertEqual(code, 1, out + err)
        self.assertIn("writer.connections must be within 1..16, not 0", err)
        code, out, err = run("check-config",
                             env={"BACKFILL_QUEUE_LEASE": "-1s"})
        self.assertEqual(code, 1, out + err)
        self.assertIn("queue.lease must not be negative, not -1s "
                      "(environment BACKFILL_QUEUE_LEASE)", err)

    def test_an_unknown_log_level_fails_check_config_as_it_fails_run(self):
        code, out, err = run("--log.level=loud", f"--db.url={SECRET_URL}")
        self.assertEqual(code, 2, out + err)
        self.assertIn("log.level loud", err)
        code, out, err = run("check-config", "--log.level=loud")
        self.assertEqual(code, 1, out + err)
        self.assertIn("log.level loud", err)


class CheckConfig(TempFiles):

    def test_each_value_shows_where_it_came_from(self):
        ini = self.write("sources.ini",
                         '[yahoo]\nburst=9.0\nbase-url="http://from-ini"\n'
                         "[fetch]\nwindow=12\n")
        code, out, err = run(
            "check-config", f"--config-file={ini}", "--fetch.window=16",
            f"--db.url={SECRET_URL}",
            env={"BACKFILL_YAHOO_BASE_URL": "http://from-env"})
        self.assertEqual(code, 0, out + err)
        self.assertIn("Configuration valid", out)
        lines = {line.split(" = ")[0]: line for line in out.splitlines()}
        self.assertRegex(lines["retry.max-attempts"], r"= 8 +\(default\)$")
        self.assertRegex(lines["yahoo.burst"],
                         rf"= 9 +\(file {re.escape(ini)}\)$")
        self.assertRegex(lines["yahoo.base-url"],
                         r'= "http://from-env" +'
                         r"\(environment BACKFILL_YAHOO_BASE_URL\)$")
        self.assertRegex(lines["fetch.window"], r"= 16 +\(command line\)$")
        self.assertRegex(lines["config-file"],
                         rf"= {re.escape(ini)} +\(command line\)$")
        self.assertRegex(lines["db.url"], r"app:\*\*\*@127\.0\.0\.1:1/x")
        self.assertNotIn(PASSWORD, out + err)

    def test_a_provider_url_with_a_password_is_shown_masked(self):
        # A provider reached through an authenticating proxy.
        code, out, err = run(
            "check-config", f"--yahoo.base-url=https://me:{PASSWORD}@proxy",
            f"--coingecko.base-url=http://me:{PASSWORD}@proxy/cg")
        self.assertEqual(code, 0, out + err)
        self.assertRegex(out, r'(?m)^yahoo\.base-url = "https://me:\*\*\*@proxy"')
        self.assertRegex(out,
                         r'(?m)^coingecko\.base-url = "http://me:\*\*\*@proxy/cg"')
        self.assertNotIn(PASSWORD, out + err)

    def test_the_shipped_ini_file_is_valid(self):
        shipped = os.path.join(os.path.dirname(__file__), os.pardir,
                               os.pardir, "configs", "backfilld.ini")
        code, out, err = run("check-config", f"--config-file={shipped}")
        self.assertEqual(code, 0, out + err)
        self.assertRegex(out, r"(?m)^yahoo\.requests-per-second = 2 +\(file ")

    def test_a_flag_is_turned_off_from_anywhere_in_its_rank(self):
        ini = self.write("flags.ini", "[outliers]\nenabled=false\n")
        lines = lambda out: {line.split(" = ")[0]: line  # noqa: E731
                             for line in out.splitlines()}
        code, out, err = run("check-config", f"--config-file={ini}")
        self.assertEqual(code, 0, out + err)
        self.assertRegex(lines(out)["outliers.enabled"],
                         rf"= false +\(file {re.escape(ini)}\)$")
        # The environment and the command line outrank the file, either way.
        code, out, err = run("check-config", f"--config-file={ini}",
                             env={"BACKFILL_OUTLIERS_ENABLED": "true"})
        self.assertRegex(lines(out)["outliers.enabled"], r"= true +\(env")
        code, out, err = run("check-config", "--outliers.enabled=false")
        self.assertRegex(lines(out)["outliers.enabled"],
                         r"= false +\(command line\)$")
        code, out, err = run("check-config", "--outliers.enabled=no")
        self.assertEqual(code, 1, out + err)
        self.assertIn("outliers.enabled must be true or false", err)
        code, out, err = run("check-config", "--outliers.factor=1.0")
        self.assertEqual(code, 1, out + err)
        self.assertIn("outliers.factor must be above 1", err)

    def test_a_config_file_from_the_environment(self):
        ini = self.write("env.ini", "[history]\nrange=\"5y\"\n")
        code, out, err = run("check-config", env={"BACKFILL_CONFIG": ini})
        self.assertEqual(code, 0, out + err)
        self.assertRegex(out, r"(?m)^config-file = .* +"
                              r"\(environment BACKFILL_CONFIG\)$")
        self.assertRegex(out, rf'(?m)^history\.range = "5y" +'
                              rf"\(file {re.escape(ini)}\)$")


class Help(unittest.TestCase):

    def test_help_names_check_config_and_secret_files(self):
        code, out, err = run("--help")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"(?m)^  check-config +\S")
        self.assertIn("--db.url-file=", out)


class SecretFiles(TempFiles):

    def test_db_url_from_a_file_is_used_and_masked(self):
        secret = self.write("db_url", SECRET_URL + "\n")
        code, out, err = run("check-config", f"--db.url-file={secret}")
        self.assertEqual(code, 0, out + err)
        self.assertRegex(out, r"(?m)^db\.url = \"postgresql://app:\*\*\*@"
                              rf"127\.0\.0\.1:1/x\" +\(secret file "
                              rf"{re.escape(secret)}\)$")
        # The trailing newline is gone: the URL reaches libpq as written.
        code, out, err = run("migrate", env={"BACKFILL_DB_URL_FILE": secret})
        self.assertEqual(code, 1, out + err)
        self.assertIn("cannot connect to postgresql://app:***@127.0.0.1:1/x:",
                      err)
        self.assertNotIn(PASSWORD, out + err)

    def test_secret_file_errors_name_the_setting(self):
        missing = os.path.join(self.dir.name, "absent")
        code, out, err = run("migrate", f"--db.url-file={missing}")
        self.assertEqual(code, 2, out + err)
        self.assertIn(f"db.url-file {missing} cannot be read", err)
        code, out, err = run("check-config", f"--db.url-file={self.dir.name}")
        self.assertEqual(code, 1, out + err)
        self.assertIn(f"db.url-file {self.dir.name} cannot be read", err)
        empty = self.write("empty", "\n")
        code, out, err = run("check-config", f"--db.url-file={empty}")
        self.assertEqual(code, 1, out + err)
        self.assertIn(f"db.url-file {empty} is empty", err)
        secret = self.write("db_url", SECRET_URL)
        code, out, err = run("check-config", f"--db.url-file={secret}",
                             env={"BACKFILL_DB_URL": SECRET_URL})
        self.assertEqual(code, 1, out + err)
        self.assertIn("db.url (environment BACKFILL_DB_URL) and db.url-file "
                      "(command line) are both set", err)
        self.assertNotIn(PASSWORD, out + err)


class SecretFileAgainstTheDatabase(PipelineTest):

    def test_the_daemon_connects_with_a_url_from_a_file(self):
        secret = tempfile.NamedTemporaryFile("w", delete=False)
        try:
            secret.write(self.db.url + "\n")
            secret.close()
            code, out, err = run("migrate", f"--db.url-file={secret.name}")
            self.assertEqual(code, 0, out + err)
            self.assertIn("Schema at version", out)
        finally:
            os.unlink(secret.name)


if __name__ == "__main__":
    unittest.main()
