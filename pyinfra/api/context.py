"""The objects a deploy file imports (`from pyinfra import host, inventory, state`), and
the one record saying what the current greenlet does for a deploy.

The build runs every host's deploy, and every operation it makes, in a greenlet of its
own (api/build/builder.py). Each such greenlet carries a `Task`: the state, inventory and host
it works for, the build it belongs to and the operation it is making now. `host`,
`inventory` and `state` forward to the current task's; fact reads, diffs and operation
call sites read it through `current()`, `making_for(host)` and `build_for(host)`. The
task lives in a context variable: each greenlet has its own, which ends with it (no
registry keyed by greenlet to clean up).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Iterator


@dataclass
class Making:
    """One operation being made on one host: its global arguments (facts are read as
    its user: a fact read under sudo is read with sudo), its HostOperation once
    recorded, and where the facts it reads and the file changes it notes go."""

    kwargs: dict[str, Any]
    host_op: Any = None
    reads: list = field(default_factory=list)
    changes: list = field(default_factory=list)


@dataclass
class Task:
    """What the current greenlet does: for which state, inventory and host; in which
    build (None outside one); making which operation (None between operations)."""

    state: Any = None
    inventory: Any = None
    host: Any = None
    build: Any = None
    making: Making | None = None


_task: ContextVar[Task | None] = ContextVar("pyinfra_task", default=None)


def current() -> Task | None:
    """The current greenlet's task, or None outside a deploy."""
    return _task.get()


@contextmanager
def working(task: Task) -> Iterator[Task]:
    """The current greenlet does `task` until the block ends."""
    token = _task.set(task)
    try:
        yield task
    finally:
        _task.reset(token)


@contextmanager
def making(state: Any, host: Any, made: Making) -> Iterator[Making]:
    """The current greenlet makes an operation on `host` (inside a build's task for that
    host, or on its own: API calls with an explicit state and host, remakes at run time)."""
    task = current()
    if task is not None and task.host is host:
        task = replace(task, making=made)
    else:
        task = Task(state, getattr(state, "inventory", None), host, None, made)
    with working(task):
        yield made


def making_for(host: Any) -> Making | None:
    """The operation the current greenlet is making on `host`, or None."""
    task = current()
    if task is None or task.host is not host:
        return None
    return task.making


def build_for(host: Any) -> Any:
    """The build the current greenlet works in for `host` (None: not in one for it)."""
    task = current()
    if task is None or task.host is not host:
        return None
    return task.build


def made_commands(host: Any, host_op: Any) -> list:
    """`host_op`'s commands; inside the build for `host`, once made (waiting for them)."""
    build = build_for(host)
    return build.commands(host_op) if build is not None else host_op.commands


class ContextObject:
    """Forwards attribute access and comparisons to the current task's `host`,
    `inventory` or `state`."""

    def __init__(self, label: str):
        object.__setattr__(self, "_label", label)

    def bound(self) -> Any:
        """The bound object, or None."""
        task = current()
        return getattr(task, self._label) if task is not None else None

    def _get(self) -> Any:
        value = self.bound()
        if value is None:
            raise RuntimeError(f"pyinfra.{self._label} is only available while a deploy is running")
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._get(), name, value)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, ContextObject):
            other = other._get()
        return self._get() == other

    def __hash__(self) -> int:
        return hash(self._get())

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __contains__(self, item: Any) -> bool:
        return item in self._get()

    def __bool__(self) -> bool:
        return self.bound() is not None

    def __str__(self) -> str:
        return str(self._get()) if self else repr(self)

    def __repr__(self) -> str:
        if not self:
            return f"<pyinfra.{self._label}: unbound>"
        return repr(self._get())

    @contextmanager
    def bind(self, value: Any) -> Iterator[None]:
        """`pyinfra.<label>` is `value` in the current greenlet until the block ends."""
        task = replace(current() or Task(), **{self._label: value})
        with working(task):
            yield


host = ContextObject("host")
inventory = ContextObject("inventory")
state = ContextObject("state")


def unwrap(value: Any) -> Any:
    return value._get() if isinstance(value, ContextObject) else value
