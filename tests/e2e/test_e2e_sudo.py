"""Non-root logins (tests/support/users.py) and sudo, over both SSH transports: what sudo makes
is owned by the user sudo runs as, requiretty hosts work, sudo's own refusals are shown,
and a fish login shell does not change what a command means."""

import os
import pwd
import stat

import pytest
from support import users

TRANSPORTS = ["shell", "exec"]
SMALL = b"small file\n" * 10
LARGE = os.urandom(300 * 1024)  # over SHELL_UPLOAD_MAX (connectors/ssh/upload.py): streamed


def env_for(transport):
    return {"PYINFRA_SSH_TRANSPORT": transport}


def owner(path):
    info = os.stat(path)
    return pwd.getpwuid(info.st_uid).pw_name, info.st_gid, oct(stat.S_IMODE(info.st_mode))


def root_only_dir(tmp_path):
    """A directory only root may write (and the path to it only root may pass)."""
    target = tmp_path / "etc"
    target.mkdir(mode=0o755)
    return target


def staged_leftovers(user):
    """Files of `user` left in TEMP_DIR (/tmp), where uploads were once staged."""
    uid = pwd.getpwnam(user).pw_uid
    return sorted(
        entry.name for entry in os.scandir("/tmp") if entry.stat(follow_symlinks=False).st_uid == uid
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sudo_uploads_of_any_size_belong_to_the_sudo_user(
    pyinfra_as, deploy_dir, tmp_path, public_dir, transport
):
    target = root_only_dir(tmp_path)
    nobody_uid = pwd.getpwnam(users.NOSUDO).pw_uid
    before = staged_leftovers(users.SUDO)
    root = deploy_dir(
        {
            "deploy.py": f"""
        from pyinfra.modules import files
        files.put('files/small', '{target}/small', sudo=True)
        files.put('files/large', '{target}/large', sudo=True)
        files.put('files/large', '{target}/large-600', mode='600', sudo=True)
        files.put('files/large', '{target}/large-mine', user='{users.SUDO}', sudo=True)
        files.put('files/small', '{public_dir}/small', sudo=True, sudo_user='{users.NOSUDO}')
        files.put('files/large', '{public_dir}/large', sudo=True, sudo_user='{users.NOSUDO}')
    """
        }
    )
    (root / "files").mkdir()
    (root / "files/small").write_bytes(SMALL)
    (root / "files/large").write_bytes(LARGE)
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root, env=env_for(transport))
    assert result.returncode == 0, result.output
    assert (target / "small").read_bytes() == SMALL
    assert (target / "large").read_bytes() == LARGE
    assert owner(target / "small") == ("root", 0, "0o644")
    assert owner(target / "large") == ("root", 0, "0o644")
    assert owner(target / "large-600") == ("root", 0, "0o600")
    assert owner(target / "large-mine")[0] == users.SUDO
    assert os.stat(public_dir / "small").st_uid == nobody_uid
    assert os.stat(public_dir / "large").st_uid == nobody_uid
    assert owner(public_dir / "large")[2] == "0o644"
    assert sorted(os.listdir(target)) == ["large", "large-600", "large-mine", "small"]
    assert staged_leftovers(users.SUDO) == before


def test_sudo_uploads_on_a_host_without_base64(pyinfra_as, deploy_dir, tmp_path):
    """pyinfra-t-nob64's sudo finds no base64 (its secure_path leaves it out)."""
    target = root_only_dir(tmp_path)
    root = deploy_dir(
        {
            "deploy.py": f"""
        from pyinfra.modules import files, server
        server.shell('! command -v base64', sudo=True)
        files.put('files/small', '{target}/small', sudo=True)
        files.put('files/large', '{target}/large', mode='640', sudo=True)
    """
        }
    )
    (root / "files").mkdir()
    (root / "files/small").write_bytes(SMALL)
    (root / "files/large").write_bytes(LARGE)
    result = pyinfra_as(users.NOB64)("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert (target / "small").read_bytes() == SMALL
    assert owner(target / "small") == ("root", 0, "0o644")
    assert owner(target / "large") == ("root", 0, "0o640")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_requiretty_host_runs_sudo_through_a_pty(pyinfra_as, deploy_dir, tmp_path, transport):
    target = root_only_dir(tmp_path)
    root = deploy_dir(
        {
            "deploy.py": f"""
        from pyinfra import host
        from pyinfra.modules import files, server
        server.shell('whoami > {target}/who; echo "$(printf "a\\tb")" > {target}/tab', sudo=True)
        server.shell('echo {{{{ host.fact.home }}}} > {target}/home', sudo=True)
        files.put('files/large', '{target}/large', sudo=True)
        server.shell('echo to-out; echo to-err >&2; exit 3', sudo=True)
    """
        }
    )
    (root / "files").mkdir()
    (root / "files/large").write_bytes(LARGE)
    # --sudo: the deploy's fact is read with sudo too
    result = pyinfra_as(users.TTY)("127.0.0.2", "deploy.py", "--sudo", cwd=root, env=env_for(transport))
    assert result.returncode == 1, result.output
    assert (target / "who").read_text() == "root\n"
    assert (target / "tab").read_text() == "a\tb\n"
    assert (target / "home").read_text() == "/root\n"
    assert (target / "large").read_bytes() == LARGE
    assert owner(target / "large") == ("root", 0, "0o644")
    # The last command's own status and output, nothing we sent echoed, no \r.
    lines = result.output.splitlines()
    failed = lines.index(next(line for line in lines if "command failed (exit status 3)" in line))
    assert [line.strip() for line in lines[failed + 1 : failed + 3]] == ["to-out", "to-err"], result.output
    assert "\r" not in result.output


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_get_pty_gives_a_command_a_terminal(pyinfra, deploy_dir, tmp_path, transport):
    root = deploy_dir(
        {
            "deploy.py": f"""
        from pyinfra.modules import server
        server.shell('[ -t 1 ] && touch {tmp_path}/with; printf "x\\\\ny\\\\n" > {tmp_path}/lines',
                     get_pty=True)
        server.shell('[ -t 1 ] || touch {tmp_path}/without')
    """
        }
    )
    result = pyinfra("127.0.0.2", "deploy.py", cwd=root, env=env_for(transport))
    assert result.returncode == 0, result.output
    assert (tmp_path / "with").exists()
    assert (tmp_path / "lines").read_text() == "x\ny\n"
    assert (tmp_path / "without").exists()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    "user, extra, message",
    [
        (users.NOSUDO, [], "sudo: a password is required"),
        (users.SUDO_PW, ["--sudo-password", "wrong-one"], "incorrect password"),
        (users.NOSUDO, ["--sudo-password", users.SUDO_PASSWORD], "is not in the sudoers file"),
    ],
)
def test_sudo_failures_show_sudos_own_message(pyinfra_as, deploy_dir, transport, user, extra, message):
    root = deploy_dir(
        {
            "deploy.py": """
        from pyinfra.modules import server
        server.shell('true', sudo=True)
    """
        }
    )
    result = pyinfra_as(user)("127.0.0.2", "deploy.py", *extra, cwd=root, env=env_for(transport))
    assert result.returncode == 1, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output


TRICKY = "back\\slash \\\\two \\' quote's \"dq\" $HOME `x` $(y) end\\\nnew line\n"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_fish_login_shell_does_not_change_a_command(pyinfra_as, deploy_dir, tmp_path, public_dir, transport):
    target = root_only_dir(tmp_path)
    root = deploy_dir(
        {
            "deploy.py": f"""
        from pyinfra.api import quote
        from pyinfra.modules import files, server
        text = {TRICKY!r}
        server.shell('printf %s ' + quote(text) + ' > {public_dir}/plain', env={{'TEXT': text}})
        server.shell('printf %s "$TEXT" > {target}/sudo', env={{'TEXT': text}}, sudo=True)
        server.shell('printf %s "$TEXT" > {public_dir}/su', env={{'TEXT': text}}, sudo=True,
                     su_user='{users.NOSUDO}')
        files.put('files/small', '{target}/' + text.replace('\\n', '').replace('/', '_'), sudo=True)
    """
        }
    )
    (root / "files").mkdir()
    (root / "files/small").write_bytes(SMALL)
    result = pyinfra_as(users.FISH)("127.0.0.2", "deploy.py", cwd=root, env=env_for(transport))
    assert result.returncode == 0, result.output
    assert (public_dir / "plain").read_text() == TRICKY
    assert (target / "sudo").read_text() == TRICKY
    assert (public_dir / "su").read_text() == TRICKY
    assert (target / TRICKY.replace("\n", "").replace("/", "_")).read_bytes() == SMALL


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_file_operations_under_sudo_make_root_owned_files(pyinfra_as, deploy_dir, tmp_path, transport):
    target = root_only_dir(tmp_path)
    root = deploy_dir(
        {
            "templates/app.conf.j2": "name={{ name }}\n",
            "deploy.py": f"""
            from pyinfra.modules import files
            files.directory('{target}/dir', sudo=True)
            files.directory('{target}/private', mode='700', group='{users.NOSUDO}', sudo=True)
            files.file('{target}/dir/empty', sudo=True)
            files.template('templates/app.conf.j2', '{target}/dir/app.conf', mode='640', name='x', sudo=True)
            files.line('{target}/dir/app.conf', 'extra=1', sudo=True)
        """,
        }
    )
    nosudo_gid = pwd.getpwnam(users.NOSUDO).pw_gid
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root, env=env_for(transport))
    assert result.returncode == 0, result.output
    assert owner(target / "dir") == ("root", 0, "0o755")
    assert owner(target / "private") == ("root", nosudo_gid, "0o700")
    assert owner(target / "dir/empty") == ("root", 0, "0o644")
    assert owner(target / "dir/app.conf") == ("root", 0, "0o640")
    assert (target / "dir/app.conf").read_text() == "name=x\nextra=1\n"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sudo_password_through_a_pty_is_never_echoed(pyinfra_as, deploy_dir, tmp_path, transport):
    target = root_only_dir(tmp_path)
    root = deploy_dir(
        {
            "deploy.py": f"""
        from pyinfra.modules import files, server
        server.shell('[ -t 1 ] && whoami > {target}/who; echo visible-output', sudo=True, get_pty=True)
        files.put('files/large', '{target}/large', sudo=True, get_pty=True)
    """
        }
    )
    (root / "files").mkdir()
    (root / "files/large").write_bytes(LARGE)
    login = pyinfra_as(users.SUDO_PW)
    result = login(
        "127.0.0.2",
        "deploy.py",
        "--sudo-password",
        users.SUDO_PASSWORD,
        "-vv",
        cwd=root,
        env=env_for(transport),
    )
    assert result.returncode == 0, result.output
    assert (target / "who").read_text() == "root\n"
    assert owner(target / "large") == ("root", 0, "0o644")
    assert (target / "large").read_bytes() == LARGE
    assert "visible-output" in result.output
    assert users.SUDO_PASSWORD not in result.output and "\r" not in result.output


def test_local_sudo_uploads_belong_to_the_sudo_user(pyinfra, deploy_dir, public_dir):
    """@local too: a file uploaded with sudo_user= is that user's, whatever its size."""
    root = deploy_dir(
        {
            "deploy.py": f"""
        from pyinfra.modules import files
        files.put('files/small', '{public_dir}/small', sudo=True, sudo_user='nobody')
        files.put('files/large', '{public_dir}/large', sudo=True, sudo_user='nobody')
    """
        }
    )
    (root / "files").mkdir()
    (root / "files/small").write_bytes(SMALL)
    (root / "files/large").write_bytes(LARGE)
    result = pyinfra("@local", "deploy.py", cwd=root, port=False)
    assert result.returncode == 0, result.output
    for name, content in (("small", SMALL), ("large", LARGE)):
        assert (public_dir / name).read_bytes() == content
        assert owner(public_dir / name)[0] == "nobody", result.output
    assert sorted(p.name for p in public_dir.iterdir()) == ["large", "small"]
