"""Faults injected against the test sshd: what the user sees, and what the hosts end
up with (issue: reliability and security)."""

import os
import re
import resource
import signal
import subprocess
import time

import pytest
from conftest import pyinfra_command
from support.netrules import drop_rule, matched, rules
from support.sshd import session_pids, signal_sessions
from support.users import SUDO_PASSWORD


def start(sshd, ssh_home, root, *args):
    """Start the real command in the background."""
    command = pyinfra_command() + [str(a) for a in args] + ["--port", str(sshd.port)]
    env = dict(os.environ, HOME=str(ssh_home), NO_COLOR="1")
    return subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def wait_for(path, seconds=30):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)


HOSTS = "WEB = ['127.0.0.2', '127.0.0.3', '127.0.0.4']\n"


def dropping_deploy(marker, out, fail_percent="None"):
    return f"""
        from pyinfra import host
        from pyinfra.modules import server
        FAIL_PERCENT = {fail_percent}
        if host.name == '127.0.0.3':
            server.shell('touch {marker}; sleep 30')
        else:
            server.shell('true')
        server.shell('touch {out}/done-{{{{ host.name }}}}')
    """


@pytest.mark.parametrize("fail_percent, others_finish", [("None", True), ("10", False)])
def test_connection_dropped_mid_deploy(sshd, ssh_home, deploy_dir, tmp_path, fail_percent, others_finish):
    marker = tmp_path / "running"
    root = deploy_dir(
        {
            "inventories/production.py": HOSTS,
            "deploy.py": dropping_deploy(marker, tmp_path, fail_percent),
        }
    )
    process = start(sshd, ssh_home, root, "inventories/production.py", "deploy.py")
    wait_for(marker)
    assert signal_sessions("127.0.0.3", sshd.port, signal.SIGKILL)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    assert re.search(r"\[127\.0\.0\.3\] Failed: .*connection to 127\.0\.0\.3 lost", output), output
    done = sorted(p.name for p in tmp_path.glob("done-*"))
    assert done == (["done-127.0.0.2", "done-127.0.0.4"] if others_finish else []), output
    assert "Traceback" not in output


@pytest.mark.parametrize("fault, no_wait", [("killed", False), ("dropped", False), ("killed", True)])
def test_connection_lost_mid_command_fails_the_host_within_timeout(sshd, ssh_home, deploy_dir,
                                                                     tmp_path, fault, no_wait):
    # TIMEOUT=2: the host fails seconds after its connection goes, not when its 60s
    # command would have ended; the summary says what it completed and what is unknown.
    # With --no-wait the three operations went to the host's shell together: the first
    # is known done (its end came back), the last was sent and may run: unknown too.
    marker = tmp_path / "running"
    root = deploy_dir({
        "inventories/production.py": HOSTS,
        "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import server
            TIMEOUT = 2
            server.shell('true')
            if host.name == '127.0.0.3':
                server.shell('touch {marker}; sleep 60')
            else:
                server.shell('sleep 1')
            server.shell('touch {tmp_path}/done-{{{{ host.name }}}}')
        """,
    })
    tag = f"pyinfra-test-lost-{os.getpid()}"
    process = start(sshd, ssh_home, root, "inventories/production.py", "deploy.py",
                    *(["--no-wait"] if no_wait else []))
    wait_for(marker)
    time.sleep(0.3)
    with rules([drop_rule("127.0.0.3", sshd.port, tag)] if fault == "dropped" else []):
        faulted = time.monotonic()
        if fault == "killed":
            assert signal_sessions("127.0.0.3", sshd.port, signal.SIGKILL)
        output, _ = process.communicate(timeout=60)
        took = time.monotonic() - faulted
        if fault == "dropped":
            assert matched(tag) > 0  # the packets really went nowhere
    if fault == "killed":
        assert not session_pids("127.0.0.3", sshd.port)
    assert process.returncode == 1, output
    # Killed: at once. Dropped: the keepalives go unanswered (4 x TIMEOUT, session.py).
    assert took < (5 if fault == "killed" else 4 * 2 + 4), (took, output)
    cause = "connection to 127.0.0.3 lost" if fault == "killed" else \
        "127.0.0.3 stopped answering (no reply within 6s)"
    running = f"Server/Shell (touch {marker}; sleep 60)"
    assert f"[127.0.0.3] Failed: {running}: {cause}" in output, output
    assert "[127.0.0.3] completed 1/3 operations, last: Server/Shell (true)" in output, output
    assert f"[127.0.0.3] lost while running (outcome unknown): {running}" in output, output
    last = f"Server/Shell (touch {tmp_path}/done-127.0.0.3)"
    if no_wait:
        assert f"[127.0.0.3] lost while running (outcome unknown): {last}" in output, output
    else:
        assert f"[127.0.0.3] not run: {last}" in output, output
    assert "1 lost (outcome unknown): 127.0.0.3" in output, output
    assert "to run the failed hosts again: --limit 127.0.0.3" in output, output
    assert "Traceback" not in output
    done = sorted(p.name for p in tmp_path.glob("done-*"))
    assert done == ["done-127.0.0.2", "done-127.0.0.4"], output


def test_connection_lost_mid_upload_keeps_the_old_file(sshd, ssh_home, deploy_dir, tmp_path):
    where = tmp_path / "site"
    where.mkdir()
    target = where / "target.bin"
    target.write_bytes(b"old content\n")
    root = deploy_dir({
        "deploy.py": f"""
            from pyinfra.modules import files, server
            TIMEOUT = 2
            files.put('files/big.bin', '{target}')
            server.shell('touch {tmp_path}/after')
        """,
    })
    (root / "files").mkdir()
    (root / "files/big.bin").write_bytes(os.urandom(150 * 1024 * 1024))
    process = start(sshd, ssh_home, root, "127.0.0.3", "deploy.py")
    deadline = time.monotonic() + 60
    while not [p for p in where.iterdir() if p.name != "target.bin"]:  # the upload runs
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.01)
    time.sleep(0.2)
    assert signal_sessions("127.0.0.3", sshd.port, signal.SIGKILL)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    assert "Traceback" not in output and "internal error" not in output, output
    assert re.search(rf"\[127\.0\.0\.3\] Failed: Files/Put \(files/big\.bin, {target}\): "
                     r"connection to 127\.0\.0\.3 lost(: \S.*)?\n", output), output
    assert f"lost while running (outcome unknown): Files/Put (files/big.bin, {target})" in output
    assert target.read_bytes() == b"old content\n"
    assert not (tmp_path / "after").exists()


def start_and_freeze(sshd, ssh_home, deploy_dir, tmp_path, seconds):
    """Start a deploy (TIMEOUT=2) whose first command runs `seconds` on each host, and
    freeze 127.0.0.3's sshd once it runs there; returns (process, frozen pids). The
    second command leaves done-<host> in tmp_path."""
    marker = tmp_path / "connected"
    root = deploy_dir(
        {
            "inventories/production.py": HOSTS,
            "deploy.py": f"""
            from pyinfra.modules import server
            TIMEOUT = 2
            server.shell('touch {marker}-{{{{ host.name }}}}; sleep {seconds}')
            server.shell('touch {tmp_path}/done-{{{{ host.name }}}}')
        """,
        }
    )
    process = start(sshd, ssh_home, root, "inventories/production.py", "deploy.py")
    wait_for(f"{marker}-127.0.0.3")
    return process, signal_sessions("127.0.0.3", sshd.port, signal.SIGSTOP)


def test_host_stalling_after_authentication_fails_after_timeout(sshd, ssh_home, deploy_dir, tmp_path):
    process, stopped = start_and_freeze(sshd, ssh_home, deploy_dir, tmp_path, 3)
    started = time.monotonic()
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    assert process.returncode == 1, output
    assert time.monotonic() - started < 20, output
    assert "127.0.0.3 stopped answering (no reply within 6s)" in output
    assert sorted(p.name for p in tmp_path.glob("done-*")) == ["done-127.0.0.2", "done-127.0.0.4"]


def test_host_too_busy_to_answer_for_a_while_is_not_failed(sshd, ssh_home, deploy_dir, tmp_path):
    # A server starved of CPU answers its keepalive late. Like OpenSSH's
    # ServerAliveCountMax=3, a host is failed only after 3 x TIMEOUT of silence: here
    # 127.0.0.3 is frozen for 5s (TIMEOUT=2: one missed keepalive, not three).
    process, stopped = start_and_freeze(sshd, ssh_home, deploy_dir, tmp_path, 1)
    assert stopped
    try:
        time.sleep(5)
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "stopped answering" not in output
    assert len(list(tmp_path.glob("done-*"))) == 3


def test_huge_and_binary_output_stays_bounded(pyinfra, deploy_dir):
    root = deploy_dir(
        {
            "deploy.py": """
            from pyinfra.modules import server
            server.shell('head -c 50000000 /dev/zero | tr "\\\\0" "x" | fold -w 100')
            server.shell('printf "\\\\377\\\\376 not utf8\\\\n"; echo after')
            server.shell('printf "bad \\\\377 and fails" >&2; exit 9')
        """,
        }
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = pyinfra("127.0.0.2", "deploy.py", "-v", cwd=root)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert result.returncode == 1
    # -v shows the bytes themselves, escaped (issue 17), and so does the failure's report
    assert "\\xff\\xfe not utf8" in result.output and "after" in result.output
    assert "bad \\xff and fails" in result.stdout and "exit status 9" in result.output
    # 50 MB went by; the controller kept a bounded tail (peak RSS of any child so far)
    assert max(before, peak) < 300 * 1024, peak


def test_ctrl_c_stops_cleanly_with_a_summary(sshd, ssh_home, deploy_dir, tmp_path):
    marker = tmp_path / "running"
    root = deploy_dir(
        {
            "inventories/production.py": HOSTS,
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('true')
            server.shell('touch {marker}; sleep 5')
            server.shell('touch {tmp_path}/never')
        """,
        }
    )
    process = start(sshd, ssh_home, root, "inventories/production.py", "deploy.py")
    wait_for(marker)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 130, output
    assert "interrupted" in output
    assert "[127.0.0.2] completed 1/3 operations, last: Server/Shell (true)" in output
    assert "never started: Server/Shell (touch" in output
    assert "Traceback" not in output
    assert not (tmp_path / "never").exists()
    time.sleep(0.5)
    assert not signal_sessions_alive(sshd)


def signal_sessions_alive(sshd):
    from support.sshd import session_pids

    return [p for i in (2, 3, 4) for p in session_pids(f"127.0.0.{i}", sshd.port)]


def test_interrupted_upload_leaves_old_file_intact(sshd, ssh_home, deploy_dir, tmp_path):
    big = os.urandom(24 * 1024 * 1024)
    where = tmp_path / "site"
    where.mkdir()
    target = where / "target.bin"
    old = b"old content\n"
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import files
            files.put('files/big.bin', '{target}')
        """,
        }
    )
    (root / "files").mkdir()
    (root / "files/big.bin").write_bytes(big)
    outcomes = set()
    for delay in (0.3, 0.6, 0.9, 1.2, 1.6):
        target.write_bytes(old)
        process = start(sshd, ssh_home, root, "127.0.0.2", "deploy.py")
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
        content = target.read_bytes()
        assert content in (old, big), f"target half-written after {delay}s"
        outcomes.add((process.returncode, content == big))
    assert (130, False) in outcomes, outcomes  # at least one run was really interrupted
    leftovers = [p.name for p in where.iterdir() if p.name != "target.bin"]
    # an interrupted transfer may leave its temp file beside the target, never a broken target
    assert all(".pyinfra" in name for name in leftovers), leftovers


@pytest.mark.parametrize("transport", ["shell", "exec"])
def test_sudo_password(pyinfra, deploy_dir, password_sudoer, public_dir, transport):
    sudoer = password_sudoer
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import server
            server.shell('echo ' + host.fact.home + ' > {public_dir}/home-{{{{ host.name }}}}')
            server.shell('whoami > {public_dir}/who-{{{{ host.name }}}}')
        """,
        }
    )
    env = {"PYINFRA_SSH_TRANSPORT": transport}
    login = ["--user", sudoer, "--password", SUDO_PASSWORD, "--sudo"]
    started = time.monotonic()
    needs = pyinfra("127.0.0.2,127.0.0.3", "deploy.py", *login, cwd=root, env=env)
    assert needs.returncode == 1
    assert time.monotonic() - started < 30
    assert needs.output.count("sudo: a password is required") >= 2, needs.output
    assert "Traceback" not in needs.output

    ok = pyinfra("127.0.0.2", "deploy.py", *login, "--sudo-password", SUDO_PASSWORD, cwd=root, env=env)
    assert ok.returncode == 0, ok.output
    assert (public_dir / "who-127.0.0.2").read_text() == "root\n"
    assert (public_dir / "home-127.0.0.2").read_text() == "/root\n"

    asked = pyinfra(
        "127.0.0.3", "deploy.py", *login, "--sudo-password", cwd=root, env=env, input=f"{SUDO_PASSWORD}\n"
    )
    assert asked.returncode == 0, asked.output
    assert (public_dir / "who-127.0.0.3").read_text() == "root\n"

    wrong = pyinfra("127.0.0.4", "deploy.py", *login, "--data", "sudo_password=nope", cwd=root, env=env)
    assert wrong.returncode == 1
    assert "incorrect password" in wrong.output or "password" in wrong.output
    for result in (needs, ok, asked, wrong):
        assert SUDO_PASSWORD not in result.output and "nope" not in result.output


def test_secrets_never_appear_in_any_output(pyinfra, deploy_dir, password_sudoer, sshd, tmp_path):
    sudoer = password_sudoer
    key = tmp_path / "key"
    subprocess.run(["cp", sshd.client_key, key], check=True)
    subprocess.run(["ssh-keygen", "-p", "-q", "-N", "key-Secret-1", "-f", str(key)], check=True)
    root = deploy_dir(
        {
            "inventories/production.py": f"""
            WEB = [('127.0.0.2', {{'ssh_key': '{key}', 'ssh_key_password': 'key-Secret-1'}}),
                   ('127.0.0.3', {{'ssh_user': '{sudoer}', 'ssh_password': '{SUDO_PASSWORD}',
                                  'sudo_password': '{SUDO_PASSWORD}'}})]
        """,
            "deploy.py": """
            from pyinfra.modules import server
            server.shell('echo hi', sudo=True)
            server.shell('exit 3')
        """,
        }
    )
    runs = [
        pyinfra("inventories/production.py", "deploy.py", "-vv", "--debug", cwd=root),
        pyinfra("inventories/production.py", "deploy.py", "--debug-data", "--debug", cwd=root),
        pyinfra("inventories/production.py", "deploy.py", "--debug-state", "-vv", "--debug", cwd=root),
        pyinfra("inventories/production.py", "--fact", "home", "-vv", "--debug", cwd=root),
        pyinfra(
            "inventories/production.py",
            "deploy.py",
            "--password",
            "cli-Secret-2",
            "-vv",
            "--debug",
            "--limit",
            "127.0.0.9*",
            cwd=root,
        ),
    ]
    assert runs[0].returncode == 1 and "exit status 3" in runs[0].output
    for result in runs:
        for secret in ("key-Secret-1", SUDO_PASSWORD, "cli-Secret-2"):
            assert secret not in result.output, (secret, result.args)
