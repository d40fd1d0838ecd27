"""files.get (issue 23) through the real `pyinfra` command: a file only root may read
is copied from the host to the controller over the test sshd by the non-root login
pyinfra-t-sudo with sudo (and pyinfra-t-tty, whose sudo wants a terminal), byte for
byte (binary, larger than one piece), written beside its destination and moved over
it, skipped once the copy has the host's SHA1; on @local too. A file missing on the
host fails that host and leaves nothing behind."""

import hashlib
import os
import re

import pytest
from support.users import SUDO, TTY

HOST = "127.0.0.2"


def counts(output: str) -> tuple[int, int]:
    match = re.search(r" 0 failed: ([0-9]+) operations, ([0-9]+) changed", output)
    assert match, output
    return int(match.group(1)), int(match.group(2))


def sha1(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()


def deploy(*calls: str) -> str:
    return "from pyinfra.modules import files\n" + "".join(f"files.get({call})\n" for call in calls)


@pytest.mark.parametrize("user", [SUDO, TTY])  # TTY: its sudo needs a terminal (requiretty)
def test_get_copies_root_only_files_with_sudo_and_converges(user, pyinfra_as, deploy_dir, public_dir):
    small = public_dir / "it's a $(secret).conf"
    small.write_bytes(b"key = 1\nno newline at the end")
    # Every byte value, and more than one piece (files.get reads 1 MiB at a time).
    large = public_dir / "dump.bin"
    large.write_bytes(bytes(range(256)) * 10000 + os.urandom(1000))
    for path in (small, large):
        path.chmod(0o600)  # root's: only sudo reads it
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = [{HOST!r}]\n",
            "deploy.py": deploy(
                f"{str(small)!r}, 'fetched/app.conf', create_local_dir=True",
                f"{str(large)!r}, 'dump.bin'",
            ),
        }
    )
    run = pyinfra_as(user)
    for changed in (2, 0):
        result = run("inventory.py", "deploy.py", "--sudo", cwd=root)
        assert result.returncode == 0, result.output
        assert counts(result.output) == (2, changed)
        assert (root / "fetched" / "app.conf").read_bytes() == small.read_bytes()
        assert sha1((root / "dump.bin").read_bytes()) == sha1(large.read_bytes())
        assert sorted(os.listdir(root / "fetched")) == ["app.conf"]  # no temporary file left
        assert "dump.bin" in os.listdir(root) and not [n for n in os.listdir(root) if ".pyinfra-" in n]

    # The local copy changed: copied again, keeping the local file's mode.
    copy = root / "fetched" / "app.conf"
    copy.write_text("edited here\n")
    copy.chmod(0o640)
    result = run("inventory.py", "deploy.py", "--sudo", cwd=root)
    assert result.returncode == 0, result.output
    assert counts(result.output) == (2, 1)
    assert copy.read_bytes() == small.read_bytes()
    assert oct(copy.stat().st_mode & 0o777) == "0o640"


def test_get_without_sudo_is_refused_by_the_host(pyinfra_as, deploy_dir, public_dir):
    secret = public_dir / "root-only"
    secret.write_text("x\n")
    secret.chmod(0o600)
    files = {"inventory.py": f"HOSTS = [{HOST!r}]\n", "deploy.py": deploy(f"{str(secret)!r}, 'copy'")}
    root = deploy_dir(files)
    result = pyinfra_as("pyinfra-t-sudo")("inventory.py", "deploy.py", cwd=root)
    assert result.returncode != 0
    assert "Permission denied" in result.output and "Traceback" not in result.output, result.output
    assert not (root / "copy").exists()


def test_get_of_a_missing_file_fails_and_leaves_nothing(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = [{HOST!r}]\n",
            "deploy.py": deploy(f"'{tmp_path}/nowhere.conf', 'copy.conf'"),
        }
    )
    result = pyinfra("inventory.py", "deploy.py", cwd=root)
    assert result.returncode != 0
    assert "nowhere.conf: no such regular file" in result.output and "Traceback" not in result.output
    assert sorted(os.listdir(root)) == ["deploy.py", "inventory.py"]


def test_get_on_local_and_force(pyinfra, deploy_dir, tmp_path):
    source = tmp_path / "source.txt"
    source.write_text("from here\n")
    root = deploy_dir(
        {
            "deploy.py": deploy(f"'{source}', 'copy.txt'", f"'{source}', 'forced.txt', force=True"),
        }
    )
    for changed in (2, 1):
        result = pyinfra("@local", "deploy.py", cwd=root)
        assert result.returncode == 0, result.output
        assert counts(result.output) == (2, changed)
        assert (root / "copy.txt").read_text() == (root / "forced.txt").read_text() == "from here\n"
    # --dry copies nothing.
    (root / "copy.txt").unlink()
    result = pyinfra("@local", "deploy.py", "--dry", cwd=root)
    assert result.returncode == 0, result.output
    assert not (root / "copy.txt").exists()
