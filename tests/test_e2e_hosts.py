"""Hosts other than this Debian machine logged into as root, through the real `pyinfra`
command and a real sshd of this module's own (tests/chroot.py makes the hosts):

- a login without sudo, where facts meet paths it may not read: a fact that cannot be
  read fails the host (or, with ignore_errors, its operation), never reads as "absent";
- a busybox-only root (the userland of Alpine) at 127.0.0.250: the file operations,
  server basics and facts work there, twice (changed, then nothing to change).
"""

import json
import os
import shutil
import subprocess
import tempfile

import pytest

try:
    from tests import chroot
    from tests.conftest import Runner
    from tests.sshd import TestSSHD, ensure_sshd_installed
except ImportError:  # tests/ itself on sys.path
    import chroot
    from conftest import Runner
    from sshd import TestSSHD, ensure_sshd_installed


@pytest.fixture(scope="module")
def hosts_sshd():
    """A TestSSHD that knows the busybox root and the user without sudo."""
    ensure_sshd_installed()
    root = chroot.make_busybox_root()
    keys = tempfile.mkdtemp(prefix="pyinfra-f-keys-")
    server = TestSSHD()
    server.extra_config = chroot.nosudo_config(keys) + chroot.busybox_config(root)
    server.start()
    try:
        chroot.install_key(keys, server.client_public_key)
        server.busybox_root = root
        yield server
    finally:
        server.stop()
        shutil.rmtree(keys, ignore_errors=True)
        chroot.remove_busybox_root(root)


@pytest.fixture
def run(hosts_sshd, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    shutil.copy(hosts_sshd.client_key, ssh_dir / "id_ed25519")
    os.chmod(ssh_dir / "id_ed25519", 0o600)
    (ssh_dir / "known_hosts").write_text("")
    return Runner(hosts_sshd, home)


@pytest.fixture
def private_dir():
    """A directory only root may enter, holding x/f."""
    path = tempfile.mkdtemp(prefix="pyinfra-f-private-")
    os.chmod(path, 0o700)
    os.makedirs(os.path.join(path, "x"))
    with open(os.path.join(path, "x", "f"), "w") as handle:
        handle.write("keep\n")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# -- facts fail closed -------------------------------------------------------------------


def test_unreadable_path_fails_the_host_not_no_change(run, tmp_path, private_dir):
    target = os.path.join(private_dir, "x", "f")
    root = write(
        tmp_path,
        {
            "inventory.py": "HOSTS = ['127.0.0.1']\n",
            "deploy.py": f"from pyinfra.modules import files\nfiles.file({target!r}, present=False)\n",
        },
    )
    result = run("--user", chroot.NOSUDO_USER, "inventory.py", "deploy.py", cwd=root)
    assert result.returncode != 0, result.output
    assert "No change" not in result.output, result.output
    # The error names the fact, its argument, the exit status and what the host said.
    assert f"fact file('{target}')" in result.output, result.output
    assert "exit status 1" in result.output, result.output
    assert "Permission denied" in result.output, result.output
    assert "Traceback" not in result.output, result.output
    assert os.path.exists(target)


def test_unreadable_path_with_ignore_errors_is_an_ignored_error(run, tmp_path, private_dir):
    target = os.path.join(private_dir, "x", "f")
    public = tempfile.mkdtemp(prefix="pyinfra-f-public-")
    os.chmod(public, 0o777)
    after = os.path.join(public, "after")
    try:
        root = write(
            tmp_path,
            {
                "inventory.py": "HOSTS = ['127.0.0.1']\n",
                "deploy.py": (
                    "from pyinfra.modules import files\n"
                    f"files.file({target!r}, present=False, ignore_errors=True)\n"
                    f"files.file({after!r})\n"
                ),
            },
        )
        result = run("--user", chroot.NOSUDO_USER, "inventory.py", "deploy.py", cwd=root)
        assert result.returncode == 0, result.output
        assert "Error (ignored)" in result.output, result.output
        assert f"fact file('{target}')" in result.output, result.output
        assert "Permission denied" in result.output, result.output
        # The host went on with the next operation.
        assert os.path.exists(after)
        assert os.path.exists(target)
    finally:
        shutil.rmtree(public, ignore_errors=True)


def test_fact_cli_shows_the_error(run, tmp_path, private_dir):
    target = os.path.join(private_dir, "x", "f")
    root = write(tmp_path, {"inventory.py": "HOSTS = ['127.0.0.1']\n"})
    result = run("--user", chroot.NOSUDO_USER, "inventory.py", "--fact", f"file:{target}", cwd=root)
    assert result.returncode == 1, result.output
    error = json.loads(result.stdout)["127.0.0.1"]["error"]
    assert f"fact file('{target}')" in error and "Permission denied" in error, error
    # The same fact read as root says what is there; an absent path is None.
    ok = run("inventory.py", "--fact", f"file:{target}", "--fact", f"file:{target}.none", cwd=root)
    assert ok.returncode == 0, ok.output
    facts = json.loads(ok.stdout)["127.0.0.1"]
    assert facts[f"file:{target}"]["size"] == 5
    assert facts[f"file:{target}.none"] is None
