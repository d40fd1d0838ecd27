"""Connectors: the only code that knows how a command reaches a host."""

from __future__ import annotations

import sys

from pyinfra.api.connectors.base import CommandResult, Connector


def make_connector(host, config, **kwargs) -> Connector:
    """The connector for a host: `@local` runs here; everything else goes over SSH."""
    if host.name == "@local":
        from pyinfra.api.connectors.local import LocalConnector

        return LocalConnector(host, config, **kwargs)
    load_paramiko()
    from pyinfra.api.connectors.ssh import SSHConnector

    return SSHConnector(host, config, **kwargs)


def load_paramiko() -> None:
    """Import paramiko without `invoke`, which it imports only for ssh_config's `Match
    exec` in its own SSHConfig (we read ssh_config ourselves: connectors/sshconfig.py).
    invoke and what it pulls in (yaml, asyncio, unittest.mock) are 40 ms of every run's
    start-up. A deploy importing invoke itself still gets it."""
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


__all__ = ["CommandResult", "Connector", "load_paramiko", "make_connector"]
