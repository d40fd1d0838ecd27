"""Connectors: the only code that knows how a command reaches a host. `@local` runs
here (local.py); every other host goes over SSH (ssh/). Both implement base.Connector."""

from __future__ import annotations

from pyinfra.api.connectors.base import CommandResult, Connector
from pyinfra.api.connectors.ssh import dial, dial_first, load_paramiko


def make_connector(host, config, **kwargs) -> Connector:
    """The connector for a host: `@local` runs here; everything else goes over SSH."""
    if host.name == "@local":
        from pyinfra.api.connectors.local import LocalConnector

        return LocalConnector(host, config, **kwargs)
    from pyinfra.api.connectors.ssh import make_ssh_connector

    return make_ssh_connector(host, config, **kwargs)


__all__ = ["CommandResult", "Connector", "dial", "dial_first", "load_paramiko", "make_connector"]
