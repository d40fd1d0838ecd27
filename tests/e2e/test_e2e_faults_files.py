"""Faults in the files a deploy writes (issue 24): a full disk during an upload or a line
edit, a link planted by an unprivileged user where sudo writes, two deploys writing the
same files at once. Each fault really happens: a full tmpfs, a link made by another
user, two real pyinfra processes. Run over the transport PYINFRA_SSH_TRANSPORT names."""

import os
import pwd
import stat
import subprocess

import pytest
from conftest import pyinfra_command
from support import users

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


# A link planted by an unprivileged user where a deploy writes with sudo: the root-owned
# file or directory it points at is never written, chowned or chmodded.

LINK_CASES = {
    "put": "files.put(io.BytesIO(b'new\\n'), '{p}', user='{u}', mode='644', sudo=True)",
    "put-same-content": "files.put(io.BytesIO(b'root secret\\n'), '{p}', user='{u}', mode='666', sudo=True)",
    "template": "files.template('templates/t.j2', '{p}', mode='666', sudo=True)",
    "line": "files.line('{p}', 'added', sudo=True)",
    "line-remove": "files.line('{p}', 'root secret', present=False, sudo=True)",
    "replace": "files.replace('{p}', 'secret', 'owned', sudo=True)",
    "file": "files.file('{p}', user='{u}', mode='666', sudo=True)",
    "file-touch": "files.file('{p}', touch=True, sudo=True)",
    "directory": "files.directory('{p}', user='{u}', mode='777', sudo=True)",
    "directory-recursive": "files.directory('{p}', user='{u}', mode='777', recursive=True, sudo=True)",
}


@pytest.fixture
def planted(tmp_path, public_dir):
    """(root-owned secret file, root-owned secret directory, a directory the unprivileged
    user owns, plant(name, target) making a link there as that user)."""
    secret = tmp_path / "secret"
    secret.write_bytes(b"root secret\n")
    secret.chmod(0o600)
    secret_dir = tmp_path / "secretdir"
    secret_dir.mkdir(mode=0o700)
    (secret_dir / "inside").write_bytes(b"root secret\n")
    owned = public_dir / "owned"
    owned.mkdir()
    nosudo = pwd.getpwnam(users.NOSUDO)
    os.chown(owned, nosudo.pw_uid, nosudo.pw_gid)

    def plant(name, target):
        subprocess.run(
            ["runuser", "-u", users.NOSUDO, "--", "ln", "-s", str(target), str(owned / name)], check=True
        )
        assert os.lstat(owned / name).st_uid == nosudo.pw_uid  # made by that user, really

    return secret, secret_dir, owned, plant


def tree_state(*paths):
    return [(snapshot(path) if path.is_file() else os.lstat(path)[:7]) for path in paths]


@pytest.mark.parametrize("case", sorted(LINK_CASES))
def test_sudo_never_follows_a_planted_link(pyinfra_as, deploy_dir, planted, case):
    secret, secret_dir, owned, plant = planted
    plant("target", secret_dir if case.startswith("directory") else secret)
    before = tree_state(secret, secret_dir, secret_dir / "inside")
    operation = LINK_CASES[case].format(p=owned / "target", u=users.NOSUDO)
    root = deploy_dir(
        {
            "templates/t.j2": "templated\n",
            "deploy.py": f"""
            import io
            from pyinfra.modules import files
            {operation}
            """,
        }
    )
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root)
    assert tree_state(secret, secret_dir, secret_dir / "inside") == before, result.output
    assert leftovers(owned) == []
    link = owned / "target"
    if case in ("line", "line-remove", "replace"):  # an edit would read root's file
        assert link.is_symlink()
    if link.is_symlink():  # the host failed, saying why (before anything ran, or as it ran)
        assert result.returncode != 0 and "Traceback" not in result.output, result.output
        assert (
            f"{link} exists and is not a" in result.output or f"{link}: is a symbolic link" in result.output
        )
    else:  # replaced by the regular file described
        assert result.returncode == 0 and link.is_file(), result.output


def test_planted_temporary_names_are_not_used(pyinfra_as, deploy_dir, planted):
    """The name a temporary file beside the target would have had (by its content's
    SHA1, once) holds a link to a root-owned directory: the upload neither moves into it
    nor chmods it, since its temporary names carry a tag nobody can predict."""
    import hashlib

    secret, secret_dir, owned, plant = planted
    content = b"new content\n"
    plant(f".target.pyinfra-{hashlib.sha1(content).hexdigest()[:12]}", secret_dir)
    before = tree_state(secret_dir, secret_dir / "inside")
    root = deploy_dir(
        {
            "deploy.py": f"""
            import io
            from pyinfra.modules import files
            files.put(io.BytesIO({content!r}), '{owned}/target', mode='644', sudo=True)
            """
        }
    )
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert (owned / "target").read_bytes() == content
    assert tree_state(secret_dir, secret_dir / "inside") == before
    assert os.listdir(secret_dir) == ["inside"]


# Two deploys at once on the same host: both converge (docs/deploys.md says why no lock).


def test_two_deploys_at_once_converge(sshd, ssh_home, deploy_dir, tmp_path):
    target = tmp_path / "both"
    target.mkdir()
    (target / "lines.conf").write_text("keep=1\nold=1\n")
    root = deploy_dir(
        {
            "files/big": "b" * BIG,
            "templates/t.j2": "{% for n in range(20000) %}line {{ n }}\n{% endfor %}",
            "deploy.py": f"""
            from pyinfra.modules import files
            for n in range(3):
                files.put('files/big', '{target}/big-{{n}}'.format(n=n))
                files.template('templates/t.j2', '{target}/templated')
                files.line('{target}/lines.conf', 'added-{{n}}'.format(n=n))
                files.line('{target}/lines.conf', '^old=.*', replace='old=2')
                files.replace('{target}/lines.conf', '^keep=.*', 'keep=2')
                files.file('{target}/touched', mode='640')
                files.directory('{target}/dir', mode='750')
            """,
        }
    )
    command = pyinfra_command() + ["127.0.0.2", "deploy.py", "--port", str(sshd.port)]
    env = dict(os.environ, HOME=str(ssh_home), NO_COLOR="1")
    expected_lines = "keep=2\nold=2\nadded-0\nadded-1\nadded-2\n"
    for _ in range(3):
        for path in target.iterdir():
            if path.is_file():
                path.unlink()
        (target / "lines.conf").write_text("keep=1\nold=1\n")
        both = [
            subprocess.Popen(
                command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for _ in range(2)
        ]
        outputs = [process.communicate(timeout=180)[0] for process in both]
        for process, output in zip(both, outputs):
            assert process.returncode == 0 and "Traceback" not in output, output
        assert (target / "lines.conf").read_text() == expected_lines
        for n in range(3):
            assert (target / f"big-{n}").read_bytes() == b"b" * BIG
        assert (target / "templated").read_text() == "".join(f"line {n}\n" for n in range(20000))
        assert stat.S_IMODE(os.stat(target / "touched").st_mode) == 0o640
        assert leftovers(target) == []


KEYS_USER = "pyinfra-t-keys"


@pytest.mark.parametrize("planted_at", [".ssh", ".ssh/authorized_keys"])
def test_authorized_keys_never_follow_a_link_in_the_users_home(
    pyinfra_as, deploy_dir, tmp_path, public_dir, planted_at
):
    """server.user writes ~/.ssh/authorized_keys in a home its user owns: a link the
    user put there (to root's own .ssh, or to a root-owned file) is not followed."""
    home = public_dir / "keyshome"
    subprocess.run(["userdel", KEYS_USER], capture_output=True)
    subprocess.run(["useradd", "-M", "-d", str(home), "-s", "/bin/sh", KEYS_USER], check=True)
    try:
        home.mkdir()
        account = pwd.getpwnam(KEYS_USER)
        os.chown(home, account.pw_uid, account.pw_gid)
        root_ssh = tmp_path / "root-ssh"
        root_ssh.mkdir(mode=0o700)
        (root_ssh / "authorized_keys").write_bytes(b"root's key\n")
        (root_ssh / "authorized_keys").chmod(0o600)
        if planted_at == ".ssh/authorized_keys":
            subprocess.run(
                ["runuser", "-u", KEYS_USER, "--", "mkdir", "-m", "700", str(home / ".ssh")], check=True
            )
            target = root_ssh / "authorized_keys"
        else:
            target = root_ssh
        subprocess.run(
            ["runuser", "-u", KEYS_USER, "--", "ln", "-s", str(target), str(home / planted_at)], check=True
        )
        before = tree_state(root_ssh, root_ssh / "authorized_keys")
        root = deploy_dir(
            {
                "deploy.py": f"""
                from pyinfra.modules import server
                server.user('{KEYS_USER}', home='{home}', public_keys=['ssh-ed25519 AAAAtest t@t'], sudo=True)
                """
            }
        )
        result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root)
        assert tree_state(root_ssh, root_ssh / "authorized_keys") == before, result.output
        assert result.returncode != 0 and "Traceback" not in result.output, result.output
        assert f"{home / planted_at} exists and is not a" in result.output, result.output
    finally:
        subprocess.run(["userdel", KEYS_USER], capture_output=True)
