"""configs/grafana-dashboard.json: a Grafana dashboard whose every query
reads only metrics a running daemon serves, and that promtool parses."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from harness import PipelineTest, wait_until
from test_metrics import free_port, get

PROMTOOL = shutil.which("promtool")
DASHBOARD = Path(__file__).resolve().parents[2] / "configs" / \
    "grafana-dashboard.json"
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
METRIC = re.compile(r"\bbackfilld_[a-z0-9_]+")
# What Grafana fills in before a query reaches Prometheus.
VARIABLES = {"$__rate_interval": "5m", "$instance": ".*"}

# What the issue asks the dashboard to show, by a metric that shows it.
COVERED = {
    "backfilld_jobs_done_total",          # throughput by kind
    "backfilld_queue_jobs",               # pending / running
    "backfilld_queue_due_jobs",
    "backfilld_jobs_in_hand",
    "backfilld_queue_oldest_due_seconds",
    "backfilld_provider_requests_total",  # by status, and the error ratio
    "backfilld_fetch_duration_seconds_bucket",
    "backfilld_write_duration_seconds_bucket",
    "backfilld_rate_limiter_waits_total",
    "backfilld_rate_limiter_wait_seconds_bucket",
    "backfilld_actor_restarts_total",
    "backfilld_listener_reconnects_total",
    "backfilld_rows_written_total",
}


def queries(dashboard):
    """(panel title, PromQL) of every target, and the variables' queries."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]
    for variable in dashboard["templating"]["list"]:
        yield f"variable {variable['name']}", variable["definition"]


def promql(expr):
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def promtool_rules(exprs):
    """(exit code, output) of `promtool check rules` on recording rules."""
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": expr}
        for i, expr in enumerate(exprs)]}]}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rules.yml")
        with open(path, "w") as f:
            json.dump(rules, f)  # JSON is YAML
        proc = subprocess.run([PROMTOOL, "check", "rules", path],
                              capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout + proc.stderr


class Dashboard(PipelineTest):

    def setUp(self):
        super().setUp()
        with open(DASHBOARD) as f:
            self.dashboard = json.load(f)

    def test_it_is_an_importable_dashboard(self):
        d = self.dashboard
        self.assertGreaterEqual(d["schemaVersion"], 36)
        self.assertIn({"name": "DS_PROMETHEUS", "label": "Prometheus",
                       "description": "The Prometheus that scrapes backfilld",
                       "type": "datasource", "pluginId": "prometheus",
                       "pluginName": "Prometheus"}, d["__inputs"])
        self.assertIsNone(d["id"])
        ids = [p["id"] for p in d["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids are unique")
        graphs = [p for p in d["panels"] if p["type"] != "row"]
        self.assertGreaterEqual(len(graphs), 12)
        for panel in graphs:
            self.assertEqual(panel["datasource"], DATASOURCE, panel["title"])
            self.assertTrue(panel["targets"], panel["title"])
            refs = [t["refId"] for t in panel["targets"]]
            self.assertEqual(len(refs), len(set(refs)), panel["title"])
            for target in panel["targets"]:
                self.assertEqual(target["datasource"], DATASOURCE)
            pos = panel["gridPos"]
            self.assertLessEqual(pos["x"] + pos["w"], 24, panel["title"])

    def test_promtool_parses_every_query(self):
        if PROMTOOL is None:
            self.fail("promtool not installed (Debian package prometheus)")
        exprs = [promql(e) for _, e in queries(self.dashboard)
                 if not e.startswith("label_values(")]
        code, out = promtool_rules(exprs)
        self.assertEqual(code, 0, out)
        self.assertIn(f"SUCCESS: {len(exprs)} rules found", out)
        # The check can fail: a broken query is refused.
        code, out = promtool_rules(["sum(rate(backfilld_rows_written_total[5m])"])
        self.assertNotEqual(code, 0, out)

    def test_every_query_reads_metrics_the_daemon_serves(self):
        port = free_port()
        daemon = self.start_daemon(f"--metrics.port={port}",
                                   "--metrics.sample-interval=1s")
        self.db.add_asset(12, "AMD")
        self.db.buy(12)
        self.backfilled_records(daemon, "AMD")

        def scraped():
            status, text = get(port, "/metrics")
            return text if status == 200 and "backfilld_queue_jobs{" in text \
                else None
        text = wait_until(scraped, what="a scrape with the queue gauges")
        self.stop_daemon(daemon)
        served = {s.name for family in text_string_to_metric_families(text)
                  for s in family.samples}
        used = set()
        for title, expr in queries(self.dashboard):
            names = set(METRIC.findall(expr))
            self.assertTrue(names, f"{title}: {expr} reads no backfilld metric")
            self.assertEqual(names - served, set(),
                             f"{title}: metrics the daemon does not serve")
            used |= names
        self.assertLessEqual(COVERED, used, "panels missing")


if __name__ == "__main__":
    unittest.main()
