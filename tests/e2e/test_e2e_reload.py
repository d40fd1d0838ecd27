"""A deploy that reloads sshd (issue 24, point 10): hardening deploys change
sshd_config and send the sshd master SIGHUP, through sudo. The master re-executes
itself and listens anew; the connections it serves already go on, so the rest of the
deploy runs on the connection it started with."""

import socket
import time

from support.users import SUDO

# The pid of the sshd process serving the command's connection: up from the shell
# to the first sshd (the master is further up, and never reached).
SESSION_PID = (
    'p=$$; while [ "$p" -gt 1 ]; do case "$(cat /proc/$p/comm)" in sshd*) break;; esac; '
    "p=$(awk '{print $4}' /proc/$p/stat); done; echo $p"
)


def listening_inodes(port):
    """Socket inodes listening on `port` (sshd binds anew when it reloads)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            next(handle)
            for line in handle:
                fields = line.split()
                if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # LISTEN
                    inodes.add(fields[9])
    return inodes


def wait_listening(port, seconds=10):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(4) == b"SSH-":
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the test sshd did not come back after SIGHUP")
        time.sleep(0.1)


def test_reloading_sshd_mid_deploy_keeps_the_connection(pyinfra_as, sshd, deploy_dir, public_dir):
    with open(sshd.pid_path) as handle:
        master = int(handle.read())
    before = listening_inodes(sshd.port)
    assert before
    out = public_dir
    root = deploy_dir({
        "deploy.py": f"""
            from pyinfra.modules import files, server
            SESSION = {SESSION_PID!r}
            server.shell('(' + SESSION + ') > {out}/session-before')
            server.shell('kill -HUP "$(cat {sshd.pid_path})"', sudo=True)
            files.file('{out}/after-reload', mode='640', sudo=True)
            server.shell('whoami > {out}/who', sudo=True, sudo_user='nobody')
            server.shell('(' + SESSION + ') > {out}/session-after')
        """,
    })
    try:
        result = pyinfra_as(SUDO)("127.0.0.2", "deploy.py", cwd=root)
    finally:
        wait_listening(sshd.port)
    assert result.returncode == 0, result.output
    # The master really reloaded: same process, listening on a new socket.
    with open(sshd.pid_path) as handle:
        assert int(handle.read()) == master
    assert listening_inodes(sshd.port).isdisjoint(before)
    # What followed ran, new channels and a new sudo identity included, over the
    # connection of the first command.
    session = (out / "session-before").read_text()
    assert int(session) not in (1, master)
    assert (out / "session-after").read_text() == session
    assert oct((out / "after-reload").stat().st_mode & 0o777) == "0o640"
    assert (out / "who").read_text() == "nobody\n"
    assert "1 host(s) succeeded, 0 failed" in result.output, result.output
