"""Inventory: the hosts of a deploy and the groups they belong to."""

from __future__ import annotations

from typing import Any, Iterator

from pyinfra.api.data import HostData
from pyinfra.api.exceptions import InventoryError, NoSuchGroup
from pyinfra.api.host import Host


class Inventory:
    """Hosts and groups. `inventory.app_servers` and `inventory.get_group(name)` list a
    group's hosts; iterating an inventory yields every host.

    Made as pyinfra 0.1's API made it (docs/api.md):

        Inventory(
            (['web1', ('web2', {'port': 8080})], {'all': 'data'}),
            db=(['db1'], {'group': 'data'}),
            ssh_user='deploy', ssh_key='~/.ssh/id_rsa',
        )

    Data of a host resolves, first match wins: `override` (the ssh_* arguments, or the
    CLI's) > the host's own data > data of its groups in the order the inventory defines
    them, then the group named after the inventory file > `all` data.
    """

    def __init__(
        self,
        names_data: tuple[list, dict],
        ssh_user: str | None = None,
        ssh_port: int | None = None,
        ssh_key: str | None = None,
        ssh_key_password: str | None = None,
        ssh_password: str | None = None,
        **groups: tuple[list, dict],
    ):
        names, data = _names_and_data(names_data, "the first argument")
        hosts: dict[str, dict] = {}
        for entry in names:
            name, host_data = _host_entry(entry, "the first argument")
            hosts.setdefault(name, {}).update(host_data)
        members: dict[str, list[str]] = {}
        group_data: dict[str, dict] = {"all": dict(data)}
        for group, value in groups.items():
            group_names, values = _names_and_data(value, f"group {group}")
            group = group.lower()
            members[group] = []
            group_data[group] = dict(values)
            for entry in group_names:
                name, host_data = _host_entry(entry, f"group {group}")
                # A host named only in a group is a host of the inventory too (0.1 left
                # it out, so its group silently had no such host).
                hosts.setdefault(name, {}).update(host_data)
                if name not in members[group]:
                    members[group].append(name)
        members["all"] = list(hosts)
        override = {
            key: value
            for key, value in (
                ("ssh_user", ssh_user),
                ("ssh_port", ssh_port),
                ("ssh_key", ssh_key),
                ("ssh_key_password", ssh_key_password),
                ("ssh_password", ssh_password),
            )
            if value is not None
        }
        self._setup(hosts, members, group_data, override, "inventory")

    @classmethod
    def from_layers(
        cls,
        hosts: dict[str, dict],
        groups: dict[str, list[str]],
        group_data: dict[str, dict] | None = None,
        override_data: dict | None = None,
        name: str = "inventory",
    ) -> Inventory:
        """An inventory from hosts (name -> own data), groups (lower-case name -> host
        names), each group's data and override data: what the CLI loads from files."""
        inventory = cls.__new__(cls)
        inventory._setup(hosts, groups, group_data or {}, override_data or {}, name)
        return inventory

    def _setup(
        self,
        hosts: dict[str, dict],
        groups: dict[str, list[str]],
        group_data: dict[str, dict],
        override_data: dict,
        name: str,
    ) -> None:
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

    def __getitem__(self, name: str) -> Host:
        """`inventory['web1']`: a host by name (KeyError when there is none)."""
        return self.hosts[name]

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


def _names_and_data(value: Any, what: str) -> tuple[list, dict]:
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and isinstance(value[0], (list, tuple))
        and isinstance(value[1], dict)
    ):
        return list(value[0]), value[1]
    raise InventoryError(f"{what} of Inventory() must be a tuple (names, data), got {value!r}")


def host_entry(entry: Any) -> tuple[str, dict] | None:
    """(name, data) of an inventory entry, 'hostname' or ('hostname', {data}); None
    when it is neither (the caller says where, in its own words)."""
    if isinstance(entry, str) and entry:
        return entry, {}
    if (
        isinstance(entry, (tuple, list))
        and len(entry) == 2
        and isinstance(entry[0], str)
        and isinstance(entry[1], dict)
    ):
        return entry[0], dict(entry[1])
    return None


def _host_entry(entry: Any, what: str) -> tuple[str, dict]:
    parsed = host_entry(entry)
    if parsed is None:
        raise InventoryError(
            f"{what} of Inventory(): {entry!r} is not a host; "
            "write 'hostname' or ('hostname', {'key': 'value'})"
        )
    return parsed
