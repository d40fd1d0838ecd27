"""server.reboot end to end: the real `pyinfra` command, logged in as the non-root
sudoer, against a test sshd of the test's own. A machine cannot reboot under its own
test suite, so the reboot command given leaves a mark; seeing it, the test kills that
sshd with every session it serves (the connection drops, as in a reboot) and, unless
the host is to stay down, starts it again on the same port a moment later. The
operation must notice the drop, reconnect, and let the next operation run over the
new connection; or fail within reboot_timeout."""

import os
import shutil
import threading
import time

import pytest
from conftest import UserRunner
from support import users
from support.sshd import TestSSHD, ensure_sshd_installed


@pytest.fixture
def host_sshd(test_users):
    ensure_sshd_installed()
    server = TestSSHD()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def run(host_sshd, tmp_path):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    shutil.copy(host_sshd.client_key, home / ".ssh" / "id_ed25519")
    os.chmod(home / ".ssh" / "id_ed25519", 0o600)
    return UserRunner(host_sshd, home, users.SUDO)


class Reboots:
    """Watches for the mark the reboot command leaves: then kills the sshd and, with
    `come_back`, starts it again `down_for` seconds later."""

    def __init__(self, server, mark, come_back=True, down_for=1.5):
        self.server, self.mark, self.come_back, self.down_for = server, mark, come_back, down_for
        self.killed_at = self.killed_wall = self.back_at = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self):
        while not self._stop.wait(0.05):
            if os.path.exists(self.mark):
                self.server.kill()
                self.killed_at, self.killed_wall = time.monotonic(), time.time()
                if self.come_back:
                    time.sleep(self.down_for)
                    self.server.respawn()
                    self.back_at = time.monotonic()
                return

    def stop(self):
        self._stop.set()
        self._thread.join(10)


DEPLOY = """
from pyinfra.modules import server
server.reboot(delay=0.5, interval=0.2, reboot_timeout={timeout}, command={command!r}, sudo=True)
server.shell('id -un > {after}', sudo=True)
"""


def deploy(tmp_path, public_dir, command, timeout=30):
    root = tmp_path / "deploy"
    root.mkdir()
    (root / "deploy.py").write_text(
        DEPLOY.format(timeout=timeout, command=command, after=public_dir / "after")
    )
    return root


def test_reboot_waits_until_the_host_answers_again(run, host_sshd, tmp_path, public_dir):
    mark = public_dir / "rebooting"
    root = deploy(tmp_path, public_dir, f"touch {mark}")
    watcher = Reboots(host_sshd, str(mark))
    try:
        started = time.monotonic()
        result = run("127.0.0.2", "deploy.py", cwd=root)
    finally:
        watcher.stop()
    assert result.returncode == 0, result.output
    assert "2 operations, 2 changed" in result.output, result.output
    # The command ran as root (sudo), the host went down, came back, and the next
    # operation ran over the new connection.
    assert os.stat(mark).st_uid == 0
    assert watcher.killed_at and watcher.back_at, "the sshd was not restarted"
    assert (public_dir / "after").read_text() == "root\n"
    assert os.stat(public_dir / "after").st_mtime >= watcher.killed_wall - 1
    assert time.monotonic() - started < 30


def test_a_host_that_does_not_come_back_fails_within_reboot_timeout(run, host_sshd, tmp_path, public_dir):
    mark = public_dir / "rebooting"
    root = deploy(tmp_path, public_dir, f"touch {mark}", timeout=3)
    watcher = Reboots(host_sshd, str(mark), come_back=False)
    try:
        started = time.monotonic()
        result = run("127.0.0.2", "deploy.py", cwd=root)
        took = time.monotonic() - started
    finally:
        watcher.stop()
    assert result.returncode != 0, result.output
    assert "did not answer again within reboot_timeout=3s" in result.output, result.output
    assert "Traceback" not in result.output
    assert not (public_dir / "after").exists()
    assert took < 20, took


def test_a_failing_reboot_command_fails_at_once(run, host_sshd, tmp_path, public_dir):
    root = deploy(tmp_path, public_dir, "echo no reboot for you >&2; exit 3")
    started = time.monotonic()
    result = run("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode != 0, result.output
    assert "the reboot command failed" in result.output and "no reboot for you" in result.output, (
        result.output
    )
    assert "Traceback" not in result.output
    assert time.monotonic() - started < 20
    assert not (public_dir / "after").exists()
