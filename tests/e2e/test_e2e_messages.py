"""Messages that tell the truth: what the user reads is what happened."""

import contextlib
import pwd
import socket
import subprocess
import threading
import time

import pytest
from support import users


@contextlib.contextmanager
def replying_server(reply: bytes, close: bool = True):
    """A loopback TCP server that writes `reply` to each connection, then closes it
    (or, with close=False, holds it open and says nothing more). Yields its port."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()
    held = []

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            if reply:
                conn.sendall(reply)
            if close:
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for conn in held:
            conn.close()


@pytest.mark.parametrize(
    "reply, close, expected",
    [
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", True, "not an SSH server: got 'HTTP/1.1 400 Bad Request'"),
        (b"", True, "closed the connection before sending an SSH banner"),
        (b"\x00\x01garbage", True, "not an SSH server: got '\\x00\\x01garbage'"),
        (b"garbage", False, "not an SSH server: got 'garbage' and no SSH banner within 2s"),
    ],
    ids=["http-400", "silent-close", "garbage-close", "garbage-open"],
)
def test_a_non_ssh_answer_is_named(pyinfra, deploy_dir, reply, close, expected):
    deploy = "from pyinfra.modules import server\nTIMEOUT = 2\nserver.shell('true')\n"
    root = deploy_dir({"deploy.py": deploy})
    with replying_server(reply, close) as port:
        started = time.monotonic()
        result = pyinfra("127.0.0.1", "deploy.py", "--port", port, cwd=root, port=False)
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert expected in result.output, result.output
    assert "no SSH answer" not in result.output
    assert elapsed < 15


def test_only_a_silent_close_is_tried_again(pyinfra, deploy_dir):
    """--connect-retries: sshd closing before its banner (starting, MaxStartups) may
    answer next time; a web server on the port will not."""
    with replying_server(b"") as silent, replying_server(b"HTTP/1.1 400 Bad Request\r\n\r\n") as web:
        hosts = [
            (name, {"ssh_hostname": "127.0.0.1", "ssh_port": port})
            for name, port in (("s", silent), ("w", web))
        ]
        root = deploy_dir(
            {
                "inventory.py": f"HOSTS = {hosts!r}\n",
                "deploy.py": "from pyinfra.modules import server\nserver.shell('true')\n",
            }
        )
        result = pyinfra("inventory.py", "deploy.py", "--connect-retries", "1", cwd=root, port=False)
    assert result.returncode == 1
    silent_line = (
        "[s] Failed: the server closed the connection before sending an SSH banner"
        f" (root@127.0.0.1:{silent}) (after 2 attempts)"
    )
    assert silent_line in result.output, result.output
    web_line = f"[w] Failed: not an SSH server: got 'HTTP/1.1 400 Bad Request' (root@127.0.0.1:{web})\n"
    assert web_line in result.output, result.output


HOOKED = """
from pyinfra import hook
@hook.before_facts
def ready(data, state):
    pass
"""


@pytest.mark.parametrize(
    "transport, how",
    [("shell", "deploy"), ("exec", "deploy"), ("shell", "hooked"), ("shell", "run")],
)
def test_a_wrong_sudo_password_is_the_only_error(pyinfra_as, deploy_dir, transport, how):
    """The host was reached: the sudo error is what failed, and the plan does not
    call the operation "no change" on a host that will run nothing."""
    deploy = "from pyinfra.modules import files\nfiles.directory('/tmp/msgs-sudo-dir')\n"
    # A before_facts hook makes the command connect first and build after.
    root = deploy_dir({"deploy.py": deploy, "hooked.py": HOOKED + deploy})
    what = {
        "deploy": ["deploy.py"],
        "hooked": ["hooked.py"],
        "run": ["--run", "files.directory", "/tmp/msgs-sudo-dir"],
    }[how]
    login = pyinfra_as(users.SUDO_PW)
    result = login(
        "127.0.0.2",
        *what,
        "--sudo",
        "--sudo-password",
        "wrong-one",
        cwd=root,
        env={"PYINFRA_SSH_TRANSPORT": transport},
    )
    assert result.returncode == 1, result.output
    assert "Connected: 1/1 hosts" in result.output
    assert "[127.0.0.2] Failed: sudo failed: Sorry, try again." in result.output
    assert "incorrect password" in result.output
    assert "Files/Directory (/tmp/msgs-sudo-dir): 1 host failed: 127.0.0.2" in result.output
    assert "no change" not in result.output
    assert "no host could be reached" not in result.output
    assert "Beginning operation run" not in result.output
    assert result.stderr == "error: every host failed before any operation ran\n"


def test_a_run_prints_its_plan_once(pyinfra, deploy_dir, tmp_path):
    """Nine operations, one of them with something to do: nine plan lines, then one
    run line, for the one that ran."""
    base = tmp_path / "dirs"
    deploy = "from pyinfra.modules import files\n" + "".join(
        f"files.directory('{base}/{i}')\n" for i in range(9)
    )
    root = deploy_dir({"deploy.py": deploy})
    first = pyinfra("127.0.0.2", "deploy.py", cwd=root)
    assert first.returncode == 0, first.output
    (base / "4").rmdir()
    again = pyinfra("127.0.0.2", "deploy.py", cwd=root)
    assert again.returncode == 0, again.output
    plan, _, run = again.output.partition("--> Beginning operation run...")
    assert plan.count(": 1 no change") == 8, again.output
    assert plan.count(f"Files/Directory ({base}/4): 1 to change") == 1, again.output
    run_lines = [line for line in run.splitlines() if "Files/Directory" in line]
    assert run_lines == [f"    Files/Directory ({base}/4): 1 changed"], again.output
    assert "1 host(s) succeeded, 0 failed: 9 operations, 1 changed" in again.output
    # With -v each host's outcome is shown as it comes, as before.
    verbose = pyinfra("127.0.0.2", "deploy.py", "-v", cwd=root)
    assert verbose.output.count("[127.0.0.2] No change") == 9, verbose.output


NEW = "pyinfra-t-notyet"


@pytest.mark.parametrize(
    "call, expected",
    [
        (f"server.user('{NEW}')", f"user {NEW} will be created (home /home/{NEW})"),
        (
            f"server.user('{NEW}', home='/srv/x', shell='/bin/bash', groups=['adm', 'users'], system=True)",
            f"user {NEW} will be created (home /srv/x, shell /bin/bash, groups adm,users, system user)",
        ),
        (
            f"server.user('{users.NOSUDO}', shell='/bin/bash', groups=['adm'])",
            f"user {users.NOSUDO} will be changed: shell /bin/sh -> /bin/bash, groups (none) -> adm",
        ),
        (
            f"server.user('{users.NOSUDO}', present=False)",
            f"user {users.NOSUDO} will be removed (not its home)",
        ),
        (f"server.group('{NEW}')", f"group {NEW} will be created"),
        ("server.group('adm', present=False)", "group adm will be removed"),
    ],
    ids=["new-user", "new-user-options", "changed-user", "removed-user", "new-group", "removed-group"],
)
def test_dry_diff_says_what_happens_to_users_and_groups(pyinfra, deploy_dir, test_users, call, expected):
    """Over SSH, --dry --diff says the user will be created (changed, removed), and
    leaves users and groups as they were."""
    assert subprocess.run(["id", "-u", NEW], capture_output=True).returncode != 0
    before = pwd.getpwnam(users.NOSUDO)
    root = deploy_dir({"deploy.py": f"from pyinfra.modules import server\n{call}\n"})
    result = pyinfra("127.0.0.2", "deploy.py", "--dry", "--diff", cwd=root)
    assert result.returncode == 0, result.output
    assert f"        127.0.0.2: {expected}\n" in result.output, result.output
    assert subprocess.run(["id", "-u", NEW], capture_output=True).returncode != 0
    assert subprocess.run(["getent", "group", "adm"], capture_output=True).returncode == 0
    assert pwd.getpwnam(users.NOSUDO) == before
