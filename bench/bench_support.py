"""What the end-to-end benchmarks share: their own PostgreSQL cluster and
the daemon's resident memory.

Importing it puts the fake providers on the module path, so that the
benchmarks can import ``fake_yahoo`` next.
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fake_provider"))

PG_CLUSTER = str(ROOT / "scripts" / "pg-cluster.sh")


def start_cluster(prefix, database, options=""):
    """A fresh PostgreSQL cluster in /tmp with `database` created:
    (its directory, its connection URL). `options`: more server options."""
    cluster = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    # The cluster runs as another user, who must reach its directory.
    os.chmod(cluster, 0o755)
    subprocess.run([PG_CLUSTER, "start", cluster, database], check=True,
                   capture_output=True,
                   env=dict(os.environ, PG_CLUSTER_OPTIONS=options))
    return cluster, Path(cluster, "url").read_text().strip()


def stop_cluster(cluster):
    subprocess.run([PG_CLUSTER, "stop", cluster], capture_output=True)
    subprocess.run(["rm", "-rf", cluster])


def rss_kib(pid):
    """The process's resident memory in KiB, 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) if match else 0


def wait_until_logged(log_path, text, seconds, daemon):
    """Waits for `text` in the daemon's log; exits the benchmark when the
    daemon stops or `seconds` pass first."""
    deadline = time.time() + seconds
    while text not in Path(log_path).read_text():
        if daemon.poll() is not None or time.time() > deadline:
            raise SystemExit("backfilld did not start")
        time.sleep(0.1)


def write_samples(path, header, samples):
    """The samples (seconds, RSS KiB, two counts) as CSV under `header`."""
    with open(path, "w") as out:
        out.write(header + "\n")
        for s in samples:
            out.write(f"{s[0]:.1f},{s[1]},{s[2]},{s[3]}\n")
