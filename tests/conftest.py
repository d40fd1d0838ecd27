import pytest

try:
    from tests.sshd import TestSSHD, ensure_sshd_installed, hang_server
except ImportError:  # tests/ itself on sys.path (plain `pytest`, no package)
    from sshd import TestSSHD, ensure_sshd_installed, hang_server


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
