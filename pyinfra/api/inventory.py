"""Inventory: the hosts of a deploy and the groups they belong to."""

from __future__ import annotations

from typing import Iterator

from pyinfra.api.data import HostData
from pyinfra.api.exceptions import InventoryError
from pyinfra.api.host import Host


class NoSuchGroup(InventoryError, AttributeError):
    pass


class Inventory:
    """Hosts and groups. `inventory.app_servers` and `inventory.get_group(name)` list a
    group's hosts; iterating an inventory yields every host.

    Data of a host resolves, first match wins: `override` (CLI) > the host's own data >
    data of its groups in the order the inventory defines them, then the group named
    after the inventory file > `all` data.
    """

    def __init__(
        self,
        hosts: dict[str, dict],
        groups: dict[str, list[str]],
        group_data: dict[str, dict] | None = None,
        override_data: dict | None = None,
        name: str = "inventory",
    ):
        group_data = group_data or {}
        override_data = override_data or {}
        self.name = name
        self.groups = groups
        self.group_data = group_data
        self.override_data = override_data
        self.hosts: dict[str, Host] = {}
        for hostname, host_data in hosts.items():
            host_groups = [g for g, members in groups.items() if hostname in members]
            ordered = [g for g in host_groups if g not in ("all", name)]
            ordered += [g for g in (name, "all") if g in host_groups]
            layers = [("override", override_data), ("host", host_data)]
            layers += [(g, group_data.get(g, {})) for g in ordered]
            self.hosts[hostname] = Host(hostname, host_groups, HostData(layers))

    def __iter__(self) -> Iterator[Host]:
        return iter(self.hosts.values())

    def __len__(self) -> int:
        return len(self.hosts)

    def get_host(self, name: str) -> Host:
        return self.hosts[name]

    def get_group(self, name: str) -> list[Host]:
        if name not in self.groups:
            known = ", ".join(sorted(self.groups))
            raise NoSuchGroup(f"no group {name!r} in the inventory (groups: {known})")
        return [self.hosts[h] for h in self.groups[name]]

    def __getattr__(self, name: str) -> list[Host]:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get_group(name)

    def get_data(self) -> HostData:
        """Data of the whole inventory: what hooks receive as `data`."""
        layers = [("override", self.override_data)]
        layers += [(self.name, self.group_data.get(self.name, {}))]
        layers += [("all", self.group_data.get("all", {}))]
        return HostData(layers)
