"""Connectors: the only code that knows how a command reaches a host."""

from __future__ import annotations

import hmac
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
        import paramiko
    finally:
        if blocked and sys.modules.get("invoke", False) is None:
            del sys.modules["invoke"]
    # paramiko checks every packet's MAC with a byte-by-byte Python loop: 0.15 ms a
    # packet, an eighth of a run's CPU. The standard library's comparison is the same
    # constant-time check, in C.
    for module in (paramiko.util, getattr(paramiko, "hostkeys", None)):
        if getattr(module, "constant_time_bytes_eq", None) is not None:
            module.constant_time_bytes_eq = hmac.compare_digest


__all__ = ["CommandResult", "Connector", "load_paramiko", "make_connector"]
