"""The soak: 100 hosts x 20 operations, twice in one process (tests/support/soak_worker.py, which
patches gevent like the CLI). No host may fail, nothing may be left behind after a
run (connections, greenlets, file descriptors, server sessions), and memory after the
second run stays within 10% of memory after the first."""

import json
import os
import subprocess
import sys

from support import TESTS

HOSTS = 100
OPERATIONS = 20
WORKER = os.path.join(TESTS, "support", "soak_worker.py")
# gevent and the interpreter may keep a few things of their own after a first use.
SLACK = 3


def host_names():
    return [f"127.0.0.{2 + index}" for index in range(HOSTS)]


def write_known_hosts(sshd, path):
    """Every host already known, as after any earlier run: both runs then do the same
    work (the first run would otherwise be the only one to start from an empty file)."""
    with open(sshd.host_public_key) as handle:
        kind, key = handle.read().split()[:2]
    with open(path, "w") as handle:
        for name in host_names():
            handle.write(f"[{name}]:{sshd.port} {kind} {key}\n")


def run_worker(sshd, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    write_known_hosts(sshd, known_hosts)
    base = tmp_path / "hosts"
    base.mkdir()
    args = {
        "port": sshd.port,
        "key": sshd.client_key,
        "known_hosts": str(known_hosts),
        "base": str(base),
        "hosts": HOSTS,
        "runs": 2,
        "sshd_pid": sshd.process.pid,
        # The default transport, whatever PYINFRA_SSH_TRANSPORT says: over "exec" every
        # command opens an SSH session (~0.1-0.2 s of server CPU here), so 100 hosts x 20
        # operations would take many minutes on two cores.
        "transport": "shell",
    }
    process = subprocess.run(
        [sys.executable, WORKER, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert process.returncode == 0, process.stderr[-5000:]
    reports = [json.loads(line) for line in process.stdout.splitlines() if line.startswith("{")]
    assert [r["phase"] for r in reports] == ["baseline", "run", "run"], process.stdout
    return base, reports


def check_host_trees(base):
    """What the deploy leaves on every host, checked on the local filesystem."""
    for name in host_names():
        root = base / name
        assert sorted(os.listdir(root)) == ["cache", "current", "etc", "logs", "var"], name
        etc = root / "etc"
        assert (etc / "blob.bin").read_bytes() == bytes(range(256)) * 64
        assert (etc / "app.conf").read_text() == f"# {name}\nlisten={name}:80\nenabled=no\n"
        assert (etc / "hosts").read_text() == f"127.0.0.1 localhost\n{name} self\n"
        assert (etc / "hosts.count").read_text() == "2\n"
        assert oct(os.stat(etc / "secret").st_mode & 0o777) == "0o600"
        assert os.readlink(root / "current") == str(etc)
        assert os.readlink(root / "logs") == "var/log/app"
        assert len((root / "var/log/app/runs").read_text().splitlines()) == 2
        assert os.path.isdir(root / "cache/a/b/c")


def test_soak_100_hosts_twice_without_failure_leak_or_growth(sshd, tmp_path):
    base, (baseline, first, second) = run_worker(sshd, tmp_path)
    summary = json.dumps([baseline, first, second], indent=1)

    for run in (first, second):
        assert run["failed"] == {}, summary
        assert run["ok"] and run["connected"] == HOSTS, summary
        assert run["operations"] == OPERATIONS, summary
        assert run["ops_done_min"] == run["ops_done_max"] == OPERATIONS, summary
    # The second run finds most of the work done; only what always runs changes.
    assert first["ops_changed"] > second["ops_changed"] > 0, summary
    check_host_trees(base)

    # After each run's disconnect_all: every connection closed on both ends.
    for run in (first, second):
        assert run["hosts_connected"] == 0, summary
        assert run["transports_active"] == 0, summary
        assert run["channels_open"] == 0, summary
        assert run["ssh_clients"] == 0, summary
        assert run["server_sessions"] == 0, summary
        assert run["greenlets"] <= baseline["greenlets"] + SLACK, summary
        assert run["threads"] <= baseline["threads"] + SLACK, summary
        assert run["fds"] <= baseline["fds"] + SLACK, summary
        # Closed transports are freed; gevent may keep the traceback of the last
        # socket it closed, and with it the last transport, alive.
        assert run["transports"] <= SLACK, summary
    # Nothing accumulates from one run to the next.
    for measure in ("greenlets", "threads", "fds"):
        assert second[measure] <= first[measure], (measure, summary)
    assert second["rss_kb"] <= first["rss_kb"] * 1.10, summary
