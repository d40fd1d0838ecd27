"""Connectors: the only code that knows how a command reaches a host."""

from __future__ import annotations

from pyinfra.api.connectors.base import CommandResult, Connector


def make_connector(host, config, **kwargs) -> Connector:
    """The connector for a host: `@local` runs here; everything else goes over SSH."""
    if host.name == "@local":
        from pyinfra.api.connectors.local import LocalConnector

        return LocalConnector(host, config, **kwargs)
    from pyinfra.api.connectors.ssh import SSHConnector

    return SSHConnector(host, config, **kwargs)


__all__ = ["CommandResult", "Connector", "make_connector"]
