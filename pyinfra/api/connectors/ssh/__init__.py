"""The SSH connector (connector.py), in parts: session.py (login through login.py,
dial.py, target.py, config.py, hostkeys.py; channels; keepalive), become.py (sudo/su),
transport.py (the protocol) with shell.py (remote_shell.py, upload.py) and exec.py,
and paramiko_internals.py, the one file that reaches into paramiko and gevent.

This package's own module imports no SSH library: `dial_first` starts TCP connections
before paramiko is loaded, `load_paramiko` loads it."""

from __future__ import annotations

import sys


def load_paramiko() -> None:
    """Import paramiko without `invoke`, which it imports only for ssh_config's `Match
    exec` in its own SSHConfig (we read ssh_config ourselves: config.py). invoke and
    what it pulls in (yaml, asyncio, unittest.mock) are 40 ms of every run's start-up.
    A deploy importing invoke itself still gets it."""
    if "paramiko" in sys.modules:
        return
    blocked = "invoke" not in sys.modules
    if blocked:
        sys.modules["invoke"] = None  # `import invoke` raises ImportError meanwhile
    try:
        import paramiko  # noqa: F401
    finally:
        if blocked and sys.modules.get("invoke", False) is None:
            del sys.modules["invoke"]
    from pyinfra.api.connectors.ssh.paramiko_internals import patch_mac_check

    patch_mac_check()


def dial_first(hosts: list, timeout: float) -> dict:
    """Start the TCP connections of `hosts`, then load paramiko while the kernel
    completes the handshakes and the servers send their banners (dial.py): {host:
    Dial, or None where the host is not dialled this way}."""
    from pyinfra.api.connectors.ssh.dial import dial

    dials = {host: dial(host, timeout) for host in hosts}
    if any(dials.values()):
        load_paramiko()  # now, before anything else can take the CPU
    return dials


def dial(host, timeout: float):
    """The host's TCP connection, started now (a dial.Dial), or None where it is not
    dialled ahead (a name, a jump host, a ProxyCommand: dial.py)."""
    from pyinfra.api.connectors.ssh.dial import dial as start

    return start(host, timeout)


def make_ssh_connector(host, config, **kwargs):
    load_paramiko()
    from pyinfra.api.connectors.ssh.connector import SSHConnector

    return SSHConnector(host, config, **kwargs)
