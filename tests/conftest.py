import pytest
from support.sshd import TestSSHD, ensure_sshd_installed, hang_server

# ---------------------------------------------------------------------------
# Private OpenSSH server fixtures (see tests/sshd.py)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sshd():
    """A real sshd for the whole session: TestSSHD with .port, .client_key,
    .known_hosts, .dir. Reachable on 127.0.0.1, 127.0.0.2, ... as root."""
    ensure_sshd_installed()
    server = TestSSHD()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hang_port():
    """Port of a loopback TCP listener that accepts but never sends."""
    with hang_server() as port:
        yield port


# ---------------------------------------------------------------------------
# End-to-end helpers: the installed `pyinfra` command against the test sshd
# ---------------------------------------------------------------------------

import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import textwrap  # noqa: E402


@pytest.fixture(scope="session")
def ssh_home(sshd, tmp_path_factory):
    """A HOME whose ~/.ssh holds the test client key, so deploys authenticate the way
    users' do (default keys), with a known_hosts of its own."""
    home = tmp_path_factory.mktemp("home")
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    shutil.copy(sshd.client_key, ssh_dir / "id_ed25519")
    os.chmod(ssh_dir / "id_ed25519", 0o600)
    (ssh_dir / "known_hosts").write_text("")
    return home


@pytest.fixture
def home(tmp_path, sshd):
    """A HOME of the test's own whose ~/.ssh holds the test client key (for tests that
    write ~/.ssh/config or known_hosts)."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    shutil.copy(sshd.client_key, home / ".ssh" / "id_ed25519")
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    return home


def pyinfra_command():
    """The installed console script (CI installs the package first)."""
    found = shutil.which("pyinfra")
    if found is None:
        raise RuntimeError("the pyinfra command is not installed: pip install -e .")
    return [found]


class Runner:
    def __init__(self, sshd, home):
        self.sshd = sshd
        self.home = home

    def __call__(self, *args, cwd=None, port=True, timeout=180, env=None, input=None):
        command = pyinfra_command() + [str(a) for a in args]
        if port:
            command += ["--port", str(self.sshd.port)]
        environment = dict(os.environ, HOME=str(self.home), NO_COLOR="1")
        environment.pop("SSH_AUTH_SOCK", None)
        environment.update(env or {})
        result = subprocess.run(
            command,
            cwd=cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
        result.output = result.stdout + result.stderr
        return result


@pytest.fixture
def pyinfra(sshd, ssh_home):
    """Run the real command: `pyinfra(args..., cwd=dir)` -> CompletedProcess with
    .output (stdout + stderr)."""
    return Runner(sshd, ssh_home)


class UserRunner(Runner):
    """A Runner logging in as `user` (--user after the other arguments)."""

    def __init__(self, sshd, home, user):
        super().__init__(sshd, home)
        self.user = user

    def __call__(self, *args, **kwargs):
        return super().__call__(*args, "--user", self.user, **kwargs)


@pytest.fixture(scope="session")
def test_users(sshd):
    """The non-root logins of tests/users.py, made once per session."""
    from support.users import ensure_test_users
    ensure_test_users()


@pytest.fixture
def password_sudoer(test_users):
    """The test login whose sudo asks a password (tests/users.py); that password is
    users.SUDO_PASSWORD, its login password too."""
    from support.users import SUDO_PW
    return SUDO_PW


@pytest.fixture
def pyinfra_as(sshd, ssh_home, test_users):
    """`pyinfra_as('pyinfra-t-sudo')(args..., cwd=dir)`: the real command logging in as
    that test user (tests/users.py), with the same HOME as the `pyinfra` fixture."""

    def make(user):
        return UserRunner(sshd, ssh_home, user)

    return make


def write_tree(root, files: dict) -> None:
    """Write {relative path: text} under root, dedenting each text."""
    for name, text in files.items():
        path = os.path.join(str(root), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(textwrap.dedent(text).lstrip("\n"))


@pytest.fixture
def deploy_dir(tmp_path):
    """A deploy directory: call it with {path: content} to fill it; returns the path."""

    def make(files: dict):
        write_tree(tmp_path, files)
        return tmp_path

    return make


@pytest.fixture
def public_dir():
    """A directory every user may write to (pytest's own tmp dirs are private to root),
    for commands run as other users."""
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp(prefix="pyinfra-e2e-"))
    os.chmod(path, 0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------
# Real database servers of the suite's own (tests/services.py)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL started for the session: .socket_dir, .port, .psql(sql)."""
    from support.services import PostgresServer
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def mariadb_server():
    """A MariaDB started for the session: .socket, .port, .admin_user,
    .admin_password, .sql(sql)."""
    from support.services import MariadbServer
    with MariadbServer() as server:
        yield server
