"""Many unreachable hosts (issue 24, point 5): with a third of a fleet blackholed (its
packets dropped by iptables: no answer, no reset), the run ends in about TIMEOUT plus
the deploy's own time, not in one TIMEOUT after another, and the reachable hosts reach
the state described."""

import os
import time

import pytest
from support.netrules import drop_rule, matched, rules

HOSTS = [f"127.0.0.{n}" for n in range(2, 68)]  # 66 hosts, all the test sshd
DARK = HOSTS[::3]  # 22 blackholed, spread through the inventory
LIT = [host for host in HOSTS if host not in DARK]
TIMEOUT = 3


def fleet(deploy_dir, base, hosts):
    return deploy_dir(
        {
            "inventory.py": f"HOSTS = {hosts!r}\n",
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import files, server
            TIMEOUT = {TIMEOUT}
            files.directory('{base}/' + host.name)
            files.line('{base}/' + host.name + '/app.ini', 'name=' + host.name)
            server.shell('true')
            """,
        }
    )


def timed(pyinfra, *args, cwd):
    started = time.monotonic()
    result = pyinfra(*args, cwd=cwd)
    return result, time.monotonic() - started


@pytest.mark.parametrize("parallel, retries", [(None, 0), (4, 0), (4, 1)])
def test_a_third_of_the_fleet_blackholed_costs_one_timeout(pyinfra, sshd, deploy_dir, tmp_path,
                                                            parallel, retries):
    # --parallel 4: four handshakes at a time. A blackholed host must not hold one of
    # them for its whole TIMEOUT, or 22 of them cost six TIMEOUTs one after another;
    # nor while it is tried again (--connect-retries: one TIMEOUT and a pause more).
    options = ["--parallel", str(parallel)] if parallel else []
    options += ["--connect-retries", str(retries)] if retries else []
    # What the deploy itself costs on this machine now, on the reachable hosts alone.
    root = fleet(deploy_dir, tmp_path / "alone", LIT)
    alone, deploy_time = timed(pyinfra, "inventory.py", "deploy.py", *options, cwd=root)
    assert alone.returncode == 0, alone.output

    base = tmp_path / "hosts"
    root = fleet(deploy_dir, base, HOSTS)
    tag = f"pyinfra-test-dark-{os.getpid()}"
    with rules([drop_rule(host, sshd.port, tag) for host in DARK]):
        result, took = timed(pyinfra, "inventory.py", "deploy.py", *options, cwd=root)
        assert matched(tag) >= len(DARK)  # every dark host's handshake went nowhere
    assert result.returncode == 1, result.output
    assert took < deploy_time + (retries + 2) * TIMEOUT + 3, (took, deploy_time, result.output)
    assert f"{len(LIT)} host(s) succeeded, {len(DARK)} failed" in result.output, result.output
    tries = f" (after {retries + 1} attempts)" if retries else ""
    for host in DARK:
        failed = f"[{host}] Failed: no SSH answer within {TIMEOUT}s (root@{host}:{sshd.port}){tries}\n"
        assert failed in result.output, result.output
        assert not (base / host).exists()
    assert f"--limit {','.join(DARK)}" in result.output, result.output
    for host in LIT:
        assert (base / host / "app.ini").read_text() == f"name={host}\n"
    assert "Traceback" not in result.output
