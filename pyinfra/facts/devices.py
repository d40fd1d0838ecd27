"""Facts about disks and network interfaces."""

from __future__ import annotations

import ipaddress
import re

from pyinfra.api import FactBase


class BlockDevices(FactBase):
    """Mounted filesystems by device, as `df` lists them: `{device: {blocks, used,
    available, used_percent, mount}}` (sizes in 1K blocks). A device mounted twice (or
    a pseudo filesystem like tmpfs) keeps its last mount."""

    command = "df -P -k"
    default = dict

    def process(self, output):
        devices = {}
        for line in output[1:]:
            # The mount point is last and may contain spaces: split from the left.
            match = re.match(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%\s+(.+)$", line)
            if match:
                device, blocks, used, available, percent, mount = match.groups()
                devices[device] = {
                    "blocks": int(blocks),
                    "used": int(used),
                    "available": int(available),
                    "used_percent": int(percent),
                    "mount": mount,
                }
        return devices


def prefix_netmask(prefix: str) -> str:
    return str(ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask)


def dotted_netmask(mask: str) -> str:
    """'255.255.255.0' as is; BSD's '0xffffff00' as '255.255.255.0'."""
    if mask.startswith("0x"):
        return str(ipaddress.IPv4Address(int(mask, 16)))
    return mask


def after(words: list[str], key: str) -> str | None:
    return words[words.index(key) + 1] if key in words[:-1] else None


def labelled(words: list[str], label: str) -> str | None:
    """'Bcast:10.0.2.255' -> '10.0.2.255' (old net-tools ifconfig)."""
    for word in words:
        if word.lower().startswith(label.lower() + ":") and len(word) > len(label) + 1:
            return word[len(label) + 1 :]
    return None


def read_address_line(device: dict, words: list[str]) -> None:
    for key in ("link/ether", "ether", "HWaddr", "lladdr"):
        if key in words[:-1] and not device["mac"]:
            device["mac"] = after(words, key).lower()
    if words[0] == "inet" and len(words) > 1 and device["ipv4"] is None:
        address = words[1]
        if address.startswith("addr:"):  # old ifconfig: "inet addr:10.0.2.15  Bcast:...  Mask:..."
            device["ipv4"] = {
                "address": address[5:],
                "netmask": labelled(words, "Mask"),
                "broadcast": labelled(words, "Bcast"),
            }
            return
        address, _, prefix = address.partition("/")
        netmask = prefix_netmask(prefix) if prefix else after(words, "netmask")
        device["ipv4"] = {
            "address": address,
            "netmask": dotted_netmask(netmask) if netmask else None,
            "broadcast": after(words, "brd") or after(words, "broadcast"),
        }
    elif words[0] == "inet6" and len(words) > 1 and device["ipv6"] is None:
        address = words[2] if words[1] == "addr:" and len(words) > 2 else words[1]
        address, _, size = address.partition("/")
        size = size or after(words, "prefixlen")
        device["ipv6"] = {
            "address": address.split("%", 1)[0],
            "size": int(size) if size and size.isdigit() else None,
        }


class NetworkDevices(FactBase):
    """Network interfaces: `{name: {mac, ipv4: {address, netmask, broadcast}, ipv6:
    {address, size}}}`, the first address of each family (None without one). Read from
    `ip addr`, or `ifconfig -a` where ip is missing (BSD, older Linux)."""

    command = "if command -v ip >/dev/null 2>&1; then ip addr show; else ifconfig -a; fi"
    default = dict

    def process(self, output):
        devices = {}
        device = None
        for line in output:
            if not line.strip():
                continue
            words = line.split()
            if not line[0].isspace():
                # "2: eth0@if5: <...>" (ip), "eth0: flags=..." or "eth0   Link encap:..." (ifconfig)
                match = re.match(r"^\d+:\s+([^:@\s]+)(?:@\S+)?:", line) or re.match(r"^([^:\s]+):?\s", line)
                if not match:
                    device = None
                    continue
                device = devices.setdefault(match.group(1), {"mac": None, "ipv4": None, "ipv6": None})
                words = words[1:]
            if device is not None and words:
                read_address_line(device, words)
        return devices
