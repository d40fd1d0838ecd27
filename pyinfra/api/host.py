"""Host: one target machine, its groups, layered data, facts and connection."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from greenlet import getcurrent

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
        # greenlet -> (global arguments, HostOperation, fact keys read, file changes
        # noted) of the operation it builds.
        self._building: dict[Any, tuple[dict[str, Any], Any, list, list]] = {}

    @contextmanager
    def building(
        self,
        op_kwargs: dict[str, Any],
        host_op: Any = None,
        reads: list | None = None,
        changes: list | None = None,
    ) -> Iterator[None]:
        """The current greenlet builds an operation: facts read meanwhile are read as
        its user (a fact read under sudo is read with sudo), and their keys are added
        to `reads`; the file changes it notes (api/diff.py) to `changes`."""
        current = getcurrent()
        self._building[current] = (
            op_kwargs,
            host_op,
            reads if reads is not None else [],
            changes if changes is not None else [],
        )
        try:
            yield
        finally:
            del self._building[current]

    @property
    def op_kwargs(self) -> dict[str, Any]:
        """Global arguments of the operation the current greenlet builds."""
        building = self._building.get(getcurrent())
        return building[0] if building else {}

    @property
    def current_op(self) -> Any:
        """The HostOperation the current greenlet builds, once recorded (or None)."""
        building = self._building.get(getcurrent())
        return building[1] if building else None

    @property
    def fact_reads(self) -> list | None:
        """Where the operation the current greenlet builds notes the facts it reads."""
        building = self._building.get(getcurrent())
        return building[2] if building else None

    @property
    def file_changes(self) -> list | None:
        """Where the operation the current greenlet builds notes its file changes."""
        building = self._building.get(getcurrent())
        return building[3] if building else None

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
