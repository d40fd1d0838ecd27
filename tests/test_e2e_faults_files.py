"""Faults in the files a deploy writes (issue 24): a full disk during an upload or a line
edit, a link planted by an unprivileged user where sudo writes, two deploys writing the
same files at once. Each fault really happens: a full tmpfs, a link made by another
user, two real pyinfra processes. Run over the transport PYINFRA_SSH_TRANSPORT names."""

import os
import pwd
import stat
import subprocess

import pytest
import users
from conftest import pyinfra_command

BIG = 600 * 1024  # over SHELL_UPLOAD_MAX: streamed over an exec channel of its own
SMALL = 200 * 1024  # under it: base64 inside the shell (with the shell transport)


@pytest.fixture
def full_disk(tmp_path):
    """A 1 MiB tmpfs holding `old.conf` (100 KB) and `lines.conf`, filled to the brim
    (only root may write it). Yields its path; unmounted afterwards."""
    mount = tmp_path / "full"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(mount)], check=True)
    try:
        (mount / "old.conf").write_bytes(b"old content\n" * 8500)
        (mount / "old.conf").chmod(0o640)
        os.chown(mount / "old.conf", 0, pwd.getpwnam(users.NOSUDO).pw_gid)
        (mount / "lines.conf").write_text("".join(f"key{n}=value{n}\n" for n in range(3000)))
        fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def snapshot(path):
    info = os.lstat(path)
    return path.read_bytes(), info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def leftovers(directory):
    return sorted(name for name in os.listdir(directory) if "pyinfra" in name or name.startswith("tmp"))


def assert_failed_cleanly(result, host="127.0.0.2"):
    assert result.returncode != 0, result.output
    assert f"[{host}]" in result.output and "Failed" in result.output, result.output
    assert "Traceback" not in result.output, result.output


@pytest.mark.parametrize(
    "operation",
    [
        f"files.put(io.BytesIO(b'n' * {BIG}), '{{d}}/old.conf', sudo=True)",
        f"files.put(io.BytesIO(b'n' * {SMALL}), '{{d}}/old.conf', sudo=True)",
        "files.template('templates/big.j2', '{d}/old.conf', sudo=True)",
        "files.put(io.BytesIO(b'n' * 50), '{d}/old.conf', mode='600', sudo=True)",
    ],
    ids=["put-streamed", "put-in-shell", "template", "put-tiny"],
)
def test_upload_to_a_full_disk_keeps_the_old_file(pyinfra_as, deploy_dir, full_disk, operation):
    before = snapshot(full_disk / "old.conf")
    root = deploy_dir(
        {
            "templates/big.j2": "{{ 't' * 200000 }}\n",
            "deploy.py": f"""
            import io
            from pyinfra.modules import files, server
            {operation.format(d=full_disk)}
            server.shell('touch {full_disk.parent}/after')
            """,
        }
    )
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root)
    assert_failed_cleanly(result)
    assert "No space left on device" in result.output, result.output
    assert snapshot(full_disk / "old.conf") == before
    assert leftovers(full_disk) == []
    assert not (full_disk.parent / "after").exists()


@pytest.mark.parametrize(
    "operation",
    [
        "files.line('{d}/lines.conf', '^key7=.*', replace='key7=' + 'v' * 3000, sudo=True)",
        "files.line('{d}/lines.conf', '^key7=.*', present=False, sudo=True)",
        "files.line('{d}/lines.conf', 'added=' + 'a' * 3000, sudo=True)",
        "files.replace('{d}/lines.conf', '^key7=.*', 'key7=' + 'r' * 3000, sudo=True)",
    ],
    ids=["line-replace", "line-remove", "line-add", "replace"],
)
def test_line_edit_on_a_full_disk_keeps_the_file(pyinfra_as, deploy_dir, full_disk, operation):
    target = full_disk / "lines.conf"
    os.chown(target, pwd.getpwnam(users.NOSUDO).pw_uid, 0)
    target.chmod(0o604)
    before = snapshot(target)
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import files
            {operation.format(d=full_disk)}
            """
        }
    )
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root)
    assert_failed_cleanly(result)
    assert "No space left on device" in result.output, result.output
    assert snapshot(target) == before
    assert leftovers(full_disk) == []


def test_line_edits_keep_owner_and_mode(pyinfra_as, deploy_dir, tmp_path):
    """The edits write a new file and move it over the old one: it keeps its owner,
    group and mode (tmp_path: root's, so the sudo login passes only through sudo)."""
    target = tmp_path / "lines.conf"
    target.write_text("a=1\nb=2\nc=3")
    nosudo = pwd.getpwnam(users.NOSUDO)
    os.chown(target, nosudo.pw_uid, nosudo.pw_gid)
    target.chmod(0o4640)
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import files
            files.line('{target}', '^a=.*', replace='a=9', sudo=True)
            files.line('{target}', '^c=3$', present=False, sudo=True)
            files.line('{target}', 'd=4', sudo=True)
            files.replace('{target}', '^b=.*', 'b=8', sudo=True)
            files.line('{tmp_path}/new.conf', 'first', sudo=True)
            """
        }
    )
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert target.read_text() == "a=9\nb=8\nd=4\n"
    info = os.stat(target)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (nosudo.pw_uid, nosudo.pw_gid, 0o4640)
    new = os.stat(tmp_path / "new.conf")
    assert (tmp_path / "new.conf").read_text() == "first\n"
    assert (new.st_uid, stat.S_IMODE(new.st_mode)) == (0, 0o644)
    assert leftovers(tmp_path) == []
    again = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root)
    assert again.returncode == 0 and target.read_text() == "a=9\nb=8\nd=4\n", again.output
