"""log.format=json: every line the daemon writes is one JSON object with the
fields a log shipper needs, whatever the messages quote, and no secret."""

import json
import re
import subprocess
import unittest

from harness import BINARY, Daemon, PipelineTest, wait_until

FIELDS = {"time", "level", "logger", "message", "pid"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class JsonLogs(PipelineTest):

    def records(self, daemon):
        """Every output line parsed; fails on the first that is not JSON."""
        result = []
        for number, line in enumerate(daemon.output().splitlines(), 1):
            try:
                record = json.loads(line)
            except ValueError as err:
                self.fail(f"line {number} is not JSON ({err}): {line!r}")
            self.assertIsInstance(record, dict, line)
            self.assertLessEqual(FIELDS, set(record), line)
            self.assertRegex(record["time"], ISO_UTC)
            self.assertEqual(record["pid"], daemon.proc.pid)
            result.append(record)
        return result

    def test_every_line_is_a_json_object_without_secrets(self):
        # The test cluster trusts local connections, so any password works.
        user, rest = self.db.url.split("://")[1].split("@")
        with_password = f"postgresql://{user}:s3cr3t-pw@{rest}"
        daemon = Daemon(with_password, self.yahoo.base_url,
                        ["--log.format=json"])
        self.daemons.append(daemon)
        daemon.wait_listening()
        self.db.add_asset(12, "AMD")
        self.db.buy(12)
        # A symbol with quotes, a backslash, a line break and a control
        # character reaches the log as it is (the fetcher refuses it).
        hostile = 'EV"IL\\\n\x01X'
        self.db.add_asset(13, hostile)
        self.db.buy(13)
        # A payload that is not JSON is rejected, and quoted in the log.
        self.db.execute("SELECT pg_notify('transaction_created', %s)",
                        ('{"asset_id": "\\"\n\t',))
        records = self.backfilled_records(daemon, "AMD")
        wait_until(lambda: self.db.job_done(12), what="AMD done")
        # Found by the notification or by a catch-up scan: either way the
        # fetcher refuses it.
        daemon.wait_for(r"\(asset 13\): symbol holds characters")
        daemon.wait_for(r"Rejected notification")
        self.assertEqual(daemon.stop(), 0)

        parsed = self.records(daemon)
        self.assertGreater(len(parsed), 10)
        by_logger = {r["logger"] for r in parsed}
        self.assertLessEqual({"backfilld", "listener", "dedupe", "writer"},
                             by_logger)
        self.assertIn({"level": "info", "logger": "writer",
                       "message": f"Backfilled AMD: {records} records"},
                      [{k: r[k] for k in ("level", "logger", "message")}
                       for r in parsed])
        # The role prefix is the logger, not part of the message.
        self.assertFalse(any(r["message"].startswith("[") for r in parsed
                             if r["logger"] != "backfilld"))
        self.assertTrue(any(hostile in r["message"] for r in parsed),
                        "the hostile symbol, unescaped after parsing")
        self.assertTrue(any(r["level"] == "debug" for r in parsed))
        output = daemon.output()
        self.assertIn(":***@", output)
        self.assertNotIn("s3cr3t-pw", output)

    def test_text_stays_the_default_and_other_formats_are_refused(self):
        daemon = self.start_daemon()
        self.db.add_asset(12, "AMD")
        self.db.buy(12)
        self.backfilled_records(daemon, "AMD")
        self.stop_daemon(daemon)
        self.assertRegex(daemon.output(),
                         r"(?m)^\d{4}-\d\d-\d\dT[0-9:.]+[+-]\d\d:\d\d info  "
                         r"\[writer\] Backfilled AMD: \d+ records$")
        proc = subprocess.run([BINARY, "--log.format=xml",
                               f"--db.url={self.db.url}"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn("log.format xml is not one of text json (command line)",
                      proc.stderr)


if __name__ == "__main__":
    unittest.main()
