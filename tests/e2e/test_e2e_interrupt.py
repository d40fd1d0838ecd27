"""Ctrl-C tells the truth (issue 11, point 7): an interrupt stops the commands in flight
on the hosts (their whole process tree, sudo and `timeout` included) and the summary
says, per host, what completed, what was cut while running and what never started.

Run over the transport PYINFRA_SSH_TRANSPORT names (the suite runs these files over
both)."""

import os
import pty
import random
import signal
import subprocess
import time

import pytest
from conftest import pyinfra_command
from support.users import SUDO_PASSWORD

HOSTS = ("127.0.0.2", "127.0.0.3")


def start(sshd, ssh_home, root, *args):
    """The real command in the background, so that it can be sent SIGINT."""
    command = pyinfra_command() + [str(a) for a in args] + ["--port", str(sshd.port)]
    env = dict(os.environ, HOME=str(ssh_home), NO_COLOR="1")
    return subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def wait_for(paths, process, seconds=60):
    deadline = time.monotonic() + seconds
    while not all(os.path.exists(p) for p in paths):
        if process.poll() is not None:
            raise AssertionError(f"pyinfra ended first:\n{process.stdout.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{paths} never all appeared")
        time.sleep(0.05)


def sleeping(duration):
    """Pids of `sleep DURATION` processes (the duration is unique to the test)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if argv[:2] == [b"sleep", duration.encode()]:
            found.append(int(pid))
    return found


def unique_sleep():
    # Helpers' tests share the machine: a fractional part nobody else uses.
    return f"6.{random.randrange(10**8):08d}"


def interrupt_when_started(process, markers):
    wait_for(markers, process)
    time.sleep(0.5)  # the marker is written right before the sleep starts
    interrupted = time.monotonic()
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    return output, time.monotonic() - interrupted


@pytest.mark.parametrize("how", ["login", "sudo", "sudo-timeout", "pty"])
def test_ctrl_c_stops_the_commands_on_every_host(sshd, ssh_home, deploy_dir, tmp_path, how):
    duration = unique_sleep()
    arguments = {
        "login": "",
        "sudo": ", sudo=True",
        "sudo-timeout": ", sudo=True, timeout=60",
        "pty": ", sudo=True, get_pty=True",
    }[how]
    root = deploy_dir(
        {
            "inventories/production.py": f"WEB = {list(HOSTS)!r}\n",
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('true')
            server.shell('touch {tmp_path}/started-{{{{ host.name }}}}; sleep {duration}; '
                         'echo done > {tmp_path}/done-{{{{ host.name }}}}'{arguments})
            server.shell('touch {tmp_path}/never-{{{{ host.name }}}}')
        """,
        }
    )
    process = start(sshd, ssh_home, root, "inventories/production.py", "deploy.py")
    began = time.monotonic()
    markers = [tmp_path / f"started-{host}" for host in HOSTS]
    output, took = interrupt_when_started(process, markers)
    assert process.returncode == 130, output
    assert took < 10, output  # within TIMEOUT
    assert "Traceback" not in output, output
    assert not sleeping(duration), output
    for host in HOSTS:
        assert f"[{host}] completed 1/3 operations, last: Server/Shell (true)" in output, output
        assert f"[{host}] interrupted while running (outcome unknown): Server/Shell (touch" in output
        # Each host's line names the operation as its own arguments render.
        never = f"Server/Shell (touch {tmp_path}/never-{host})"
        assert f"[{host}] never started: {never}" in output, output
    time.sleep(max(0.0, 7.5 - (time.monotonic() - began)))  # past the sleep
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("done-", "never-")))
    assert left == [], output
    assert not sleeping(duration)


def test_ctrl_c_stops_local_commands(sshd, ssh_home, deploy_dir, tmp_path):
    duration = unique_sleep()
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('touch {tmp_path}/started; sleep {duration}; echo done > {tmp_path}/done')
        """,
        }
    )
    process = start(sshd, ssh_home, root, "@local", "deploy.py")
    began = time.monotonic()
    output, took = interrupt_when_started(process, [tmp_path / "started"])
    assert process.returncode == 130, output
    assert took < 10, output
    assert "[@local] interrupted while running (outcome unknown): Server/Shell" in output, output
    assert not sleeping(duration), output
    time.sleep(max(0.0, 7.5 - (time.monotonic() - began)))
    assert not (tmp_path / "done").exists(), output


def test_ctrl_c_stops_a_fact_being_read(sshd, ssh_home, deploy_dir, tmp_path):
    duration = unique_sleep()
    root = deploy_dir(
        {
            "inventories/production.py": f"WEB = {list(HOSTS)!r}\n",
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import server
            host.fact.command('touch {tmp_path}/started-' + host.name + '; sleep {duration}; '
                              'echo done > {tmp_path}/done-' + host.name)
            server.shell('touch {tmp_path}/never-{{{{ host.name }}}}')
        """,
        }
    )
    process = start(sshd, ssh_home, root, "inventories/production.py", "deploy.py")
    began = time.monotonic()
    output, took = interrupt_when_started(process, [tmp_path / f"started-{h}" for h in HOSTS])
    assert process.returncode == 130, output
    assert took < 10, output
    assert "interrupted" in output and "Traceback" not in output, output
    assert not sleeping(duration), output
    time.sleep(max(0.0, 7.5 - (time.monotonic() - began)))
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("done-", "never-")))
    assert left == [], output


def test_ctrl_c_stops_root_commands_of_a_login_whose_sudo_asks_a_password(
    sshd, ssh_home, deploy_dir, tmp_path, password_sudoer
):
    duration = unique_sleep()
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('touch {tmp_path}/started; sleep {duration}; echo done > {tmp_path}/done',
                         sudo=True)
        """,
        }
    )
    login = ["--user", password_sudoer, "--password", SUDO_PASSWORD, "--sudo-password", SUDO_PASSWORD]
    process = start(sshd, ssh_home, root, "127.0.0.2", "deploy.py", *login)
    began = time.monotonic()
    output, took = interrupt_when_started(process, [tmp_path / "started"])
    assert process.returncode == 130, output
    assert took < 10, output
    assert "[127.0.0.2] interrupted while running (outcome unknown): Server/Shell" in output, output
    assert not sleeping(duration), output
    assert SUDO_PASSWORD not in output
    time.sleep(max(0.0, 7.5 - (time.monotonic() - began)))
    assert not (tmp_path / "done").exists(), output


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_stop_like_ctrl_c(sshd, ssh_home, deploy_dir, tmp_path, signum, code):
    # What a CI runner sends on cancel (SIGTERM), or a closed terminal (SIGHUP): the same
    # stop as Ctrl-C, the same summary, the exit status a shell gives that signal.
    duration = unique_sleep()
    root = deploy_dir(
        {
            "inventories/production.py": f"WEB = {list(HOSTS)!r}\n",
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('true')
            server.shell('touch {tmp_path}/started-{{{{ host.name }}}}; sleep {duration}; '
                         'echo done > {tmp_path}/done-{{{{ host.name }}}}', sudo=True)
            server.shell('touch {tmp_path}/never-{{{{ host.name }}}}')
        """,
        }
    )
    process = start(sshd, ssh_home, root, "inventories/production.py", "deploy.py")
    began = time.monotonic()
    wait_for([tmp_path / f"started-{host}" for host in HOSTS], process)
    time.sleep(0.5)
    assert len(sleeping(duration)) == len(HOSTS)  # the commands really run on the hosts
    stopped = time.monotonic()
    process.send_signal(signum)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == code, output
    assert time.monotonic() - stopped < 10, output
    assert f"interrupted ({signal.Signals(signum).name})" in output, output
    assert "Traceback" not in output, output
    assert not sleeping(duration), output
    for host in HOSTS:
        assert f"[{host}] completed 1/3 operations, last: Server/Shell (true)" in output, output
        assert f"[{host}] interrupted while running (outcome unknown): Server/Shell (touch" in output
        assert f"[{host}] never started: Server/Shell (touch {tmp_path}/never-{host})" in output
    time.sleep(max(0.0, 7.5 - (time.monotonic() - began)))
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("done-", "never-")))
    assert left == [], output


def test_sighup_after_the_terminal_went_away(sshd, ssh_home, deploy_dir, tmp_path):
    # The terminal closed (an SSH session to a jump box dropped): every write to it now
    # fails (EIO). The hosts' commands are still stopped, and the exit status is still
    # SIGHUP's.
    duration = unique_sleep()
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('touch {tmp_path}/started; sleep {duration}; echo done > {tmp_path}/done')
        """,
        }
    )
    command = pyinfra_command() + ["127.0.0.2", "deploy.py", "--port", str(sshd.port)]
    env = dict(os.environ, HOME=str(ssh_home), NO_COLOR="1")
    terminal, side = pty.openpty()
    process = subprocess.Popen(command, cwd=root, env=env, stdin=side, stdout=side, stderr=side,
                               start_new_session=True)
    os.close(side)
    began = time.monotonic()
    try:
        wait_for([tmp_path / "started"], process)
        time.sleep(0.5)
        assert sleeping(duration)
    finally:
        os.close(terminal)
    process.send_signal(signal.SIGHUP)
    assert process.wait(timeout=30) == 129
    assert not sleeping(duration)
    time.sleep(max(0.0, 7.5 - (time.monotonic() - began)))
    assert not (tmp_path / "done").exists()
