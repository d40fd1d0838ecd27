"""Layered host data: override > host > other groups > all, remembering each source."""

from __future__ import annotations

from typing import Any, Iterator


class HostData:
    """`host.data`: attribute access resolves through the layers; a missing key is None.

    `layers` is a list of (source name, dict), first match wins.
    """

    def __init__(self, layers: list[tuple[str, dict]]):
        object.__setattr__(self, "_layers", layers)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return self.get(key)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("host data is read-only; set it in the inventory or group_data")

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    def __contains__(self, key: str) -> bool:
        return any(key in values for _, values in self._layers)

    def __iter__(self) -> Iterator[str]:
        return iter(self.dict())

    def get(self, key: str, default: Any = None) -> Any:
        for _, values in self._layers:
            if key in values:
                return values[key]
        return default

    def source(self, key: str) -> str | None:
        """The layer a key's value comes from: 'override', 'host', a group name or 'all'."""
        for name, values in self._layers:
            if key in values:
                return name
        return None

    def layers(self) -> list[tuple[str, dict]]:
        """(source name, values) of every layer, the first one winning."""
        return list(self._layers)

    def dict(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for _, values in reversed(self._layers):
            merged.update(values)
        return merged

    def __repr__(self) -> str:
        return f"HostData({sorted(self.dict())})"
