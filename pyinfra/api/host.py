"""Host: one target machine, its groups, layered data, facts and connection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyinfra.api.data import HostData
from pyinfra.api.facts import FactProxy

if TYPE_CHECKING:
    from pyinfra.api.connectors.base import Connector
    from pyinfra.api.state import State


class Host:
    """A target host. `host.data.key`, `host.fact.name`, `host.name`, `host.groups`."""

    def __init__(self, name: str, groups: list[str], data: HostData):
        self.name = name
        self.groups = groups
        self.data = data
        self.fact = FactProxy(self)
        self.state: State | None = None
        self.connector: Connector | None = None

    def get_fact(self, name: str, *args: Any) -> Any:
        if self.state is None:
            raise RuntimeError("facts need a State: the host is not part of a deploy")
        return self.state.facts.get(self, name, args)

    @property
    def connected(self) -> bool:
        return self.connector is not None and self.connector.connected

    def __repr__(self) -> str:
        return f"Host({self.name})"

    def __str__(self) -> str:
        return self.name
