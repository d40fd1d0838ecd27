"""The objects a deploy file imports (`from pyinfra import host, inventory, state`).

They are stand-ins that forward to whatever the engine has bound for the file being
run: the deploy file runs once per host, with `host` bound to that host.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from greenlet import getcurrent

_MAIN = getcurrent()


class ContextObject:
    """Forwards attribute access and comparisons to the bound object.

    Bindings belong to the greenlet that made them (the build runs every host's deploy
    in its own greenlet); a greenlet with none sees the main greenlet's."""

    def __init__(self, label: str):
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_stacks", {})

    @property
    def _stack(self) -> list:
        stack = self._stacks.get(getcurrent())
        if stack:
            return stack
        return self._stacks.get(_MAIN, [])

    def _get(self) -> Any:
        stack = self._stack
        if not stack:
            raise RuntimeError(f"pyinfra.{self._label} is only available while a deploy is running")
        return stack[-1]

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
        return bool(self._stack)

    def __str__(self) -> str:
        return str(self._get()) if self._stack else repr(self)

    def __repr__(self) -> str:
        if not self._stack:
            return f"<pyinfra.{self._label}: unbound>"
        return repr(self._get())

    @contextmanager
    def bind(self, value: Any) -> Iterator[None]:
        current = getcurrent()
        stack = self._stacks.setdefault(current, [])
        stack.append(value)
        try:
            yield
        finally:
            stack.pop()
            if not stack:
                del self._stacks[current]

    def bound(self) -> Any:
        """The bound object, or None."""
        return self._stack[-1] if self._stack else None


host = ContextObject("host")
inventory = ContextObject("inventory")
state = ContextObject("state")


def unwrap(value: Any) -> Any:
    return value._get() if isinstance(value, ContextObject) else value
