"""Facts about the remote system: identity, users and groups, the distribution."""

from __future__ import annotations

import re
import shlex
from datetime import datetime

from pyinfra.api import FactBase
from pyinfra.api.facts import ABSENT, program_path


class Os(FactBase):
    """The kernel's name: 'Linux', 'Darwin', 'FreeBSD'."""

    command = "uname -s"

    def process(self, output):
        return output[0].strip()


class Arch(FactBase):
    """The machine hardware name: 'x86_64', 'aarch64'."""

    command = "uname -m"

    def process(self, output):
        return output[0].strip()


class Hostname(FactBase):
    """The host's network node name (as `uname -n` reports it)."""

    command = "uname -n"

    def process(self, output):
        return output[0].strip()


class Home(FactBase):
    """The home directory of the user the fact is read as."""

    command = "echo ~"

    def process(self, output):
        return output[0]


class OsVersion(FactBase):
    """The kernel release: '6.1.0-18-amd64'."""

    command = "uname -r"

    def process(self, output):
        return output[0].strip()


class Date(FactBase):
    """The host's current date and time, a timezone-aware `datetime`."""

    command = "LC_ALL=C date +%Y-%m-%dT%H:%M:%S%z"

    def process(self, output):
        return datetime.strptime(output[0].strip(), "%Y-%m-%dT%H:%M:%S%z")


class Which(FactBase):
    """The path of a program on the PATH, None when there is none."""

    def command(self, name):
        return f"{program_path(name)} || echo {ABSENT}"

    def process(self, output):
        return output[0]


class Command(FactBase):
    """The output of any shell command, as one string (the command is not quoted: it is
    the shell code itself). A command exiting non-zero is an error, like any fact's:
    make an answer of a status in the command itself
    (``if grep -q x f; then echo yes; fi``)."""

    def command(self, command):
        return command

    def process(self, output):
        return "\n".join(output)


def parse_group_lines(lines):
    """(gid -> name, name -> members) from /etc/group lines."""
    names, members = {}, {}
    for line in lines:
        parts = line.split(":")
        if len(parts) < 4:
            continue
        names.setdefault(parts[2], parts[0])
        members[parts[0]] = [m for m in parts[3].split(",") if m]
    return names, members


# getent also lists NSS (LDAP, ...) entries; the files are the fallback without it.
PASSWD = "{ getent passwd 2>/dev/null || cat /etc/passwd; }"
GROUP = "{ getent group 2>/dev/null || cat /etc/group; }"


class Users(FactBase):
    """Users by name: `{name: {home, shell, group, groups, uid}}`; `group` is the primary
    group's name, `groups` the groups listing the user as a member (sorted)."""

    command = f"{PASSWD} && echo --- && {GROUP}"
    default = dict

    def process(self, output):
        split = output.index("---")
        group_names, group_members = parse_group_lines(output[split + 1 :])
        users = {}
        for line in output[:split]:
            parts = line.split(":")
            if len(parts) < 7:
                continue
            name, uid, gid = parts[0], parts[2], parts[3]
            users[name] = {
                "home": parts[5],
                "shell": parts[6],
                "group": group_names.get(gid, gid),
                "groups": sorted(g for g, members in group_members.items() if name in members),
                "uid": int(uid) if uid.isdigit() else uid,
            }
        return users


class Groups(FactBase):
    """The names of the host's groups, a list."""

    command = GROUP
    default = list

    def process(self, output):
        return [line.split(":")[0] for line in output if ":" in line]


# Distribution IDs of /etc/os-release, named the way pyinfra users write them.
DISTRIBUTION_NAMES = {
    "debian": "Debian",
    "ubuntu": "Ubuntu",
    "centos": "CentOS",
    "fedora": "Fedora",
    "rhel": "RedHat",
    "rocky": "Rocky",
    "almalinux": "AlmaLinux",
    "ol": "Oracle",
    "amzn": "Amazon",
    "alpine": "Alpine",
    "arch": "Arch",
    "gentoo": "Gentoo",
    "opensuse": "openSUSE",
    "opensuse-leap": "openSUSE",
    "opensuse-tumbleweed": "openSUSE",
    "sles": "SUSE",
    "linuxmint": "Mint",
    "raspbian": "Raspbian",
}

# Other spellings a name is equal to: 0.x releases said "Red Hat Enterprise Linux".
DISTRIBUTION_ALIASES = {
    "RedHat": ("Red Hat Enterprise Linux", "RHEL", "RedHatEnterpriseServer"),
}

# Names at the start of /etc/redhat-release (or lsb_release's id), for hosts without
# os-release.
RELEASE_NAMES = [
    ("CentOS", "CentOS"),
    ("Red Hat", "RedHat"),
    ("RedHat", "RedHat"),
    ("Fedora", "Fedora"),
    ("Rocky", "Rocky"),
    ("AlmaLinux", "AlmaLinux"),
    ("Ubuntu", "Ubuntu"),
    ("Debian", "Debian"),
]


class Distribution(dict):
    """`{'name': 'Debian', 'major': 12, 'minor': 0}` that also equals its name, so
    `host.fact.linux_distribution == 'CentOS'` works as the 0.1 guide shows. Still a
    plain dict for JSON and for `['name']`."""

    def names(self) -> set[str]:
        name = self.get("name")
        if not name:
            return set()
        return {n.lower() for n in (name, *DISTRIBUTION_ALIASES.get(name, ()))}

    def __eq__(self, other):
        if isinstance(other, str):
            return other.lower() in self.names()
        return dict.__eq__(self, other)

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None


def parse_version(text: str | None) -> tuple[int | None, int]:
    match = re.match(r"(\d+)(?:\.(\d+))?", text or "")
    if not match:
        return None, 0
    return int(match.group(1)), int(match.group(2) or 0)


def release_version(text: str) -> tuple[int | None, int]:
    """The version in 'CentOS Linux release 7.9.2009 (Core)'."""
    match = re.search(r"release (\d+(?:\.\d+)?)", text)
    return parse_version(match.group(1) if match else None)


def name_from_release(text: str) -> str:
    """The distribution named by /etc/redhat-release or `lsb_release -i`."""
    for ident, name in DISTRIBUTION_NAMES.items():
        if text.lower().startswith(ident):
            return name
    for name, aliases in DISTRIBUTION_ALIASES.items():
        if any(text.startswith(alias) for alias in aliases):
            return name
    return text.split()[0]


def parse_os_release(lines: list[str]) -> dict[str, str]:
    values = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if not sep or not key.isidentifier():
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            words = [value]
        values[key] = words[0] if words else ""
    return values


SECTIONS = ("os-release", "redhat-release", "debian_version", "lsb_release")


def parse_sections(output: list[str]) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in output:
        if line.startswith("[") and line.endswith("]") and line[1:-1] in SECTIONS:
            current = line[1:-1]
            sections[current] = []
        elif current:
            sections[current].append(line)
    return sections


def empty_distribution() -> Distribution:
    return Distribution(name=None, major=None, minor=None)


class LinuxDistribution(FactBase):
    """The Linux distribution: `{'name': 'Debian', 'major': 12, 'minor': 0}`, equal to
    its name too (`== 'CentOS'`). Names: 'Debian', 'Ubuntu', 'CentOS', 'Fedora',
    'RedHat', ... Read from /etc/os-release, else /etc/redhat-release, else
    `lsb_release`; `{'name': None, ...}` when none of them exists. The minor version
    comes from /etc/redhat-release (RHEL family) or /etc/debian_version (Debian) when
    os-release has none."""

    command = (
        "echo '[os-release]'; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null;"
        " echo '[redhat-release]'; cat /etc/redhat-release 2>/dev/null;"
        " echo '[debian_version]'; cat /etc/debian_version 2>/dev/null;"
        " echo '[lsb_release]'; lsb_release -s -i -r 2>/dev/null; true"
    )
    default = staticmethod(empty_distribution)

    def process(self, output):
        sections = parse_sections(output)
        redhat = " ".join(sections.get("redhat-release", [])).strip()
        os_release = parse_os_release(sections.get("os-release", []))
        ident = os_release.get("ID")
        if ident:
            name = DISTRIBUTION_NAMES.get(ident) or os_release.get("NAME") or ident
            version_id = os_release.get("VERSION_ID", "")
            major, minor = parse_version(version_id)
            # CentOS 7's os-release says "7"; its redhat-release says "7.9.2009".
            # Debian 12.11's says "12"; its /etc/debian_version says "12.11".
            if redhat and "." not in version_id:
                redhat_major, redhat_minor = release_version(redhat)
                if redhat_major == major:
                    minor = redhat_minor
            debian = " ".join(sections.get("debian_version", [])).strip()
            if ident == "debian" and debian and "." not in version_id:
                debian_major, debian_minor = parse_version(debian)
                if debian_major == major and re.match(r"^\d+\.\d+", debian):
                    minor = debian_minor
            return Distribution(name=name, major=major, minor=minor)
        if redhat:
            major, minor = release_version(redhat)
            return Distribution(name=name_from_release(redhat), major=major, minor=minor)
        lsb = [line.strip() for line in sections.get("lsb_release", []) if line.strip()]
        if lsb:
            major, minor = parse_version(lsb[1] if len(lsb) > 1 else None)
            return Distribution(name=name_from_release(lsb[0]), major=major, minor=minor)
        return empty_distribution()


class ListeningPorts(FactBase):
    """The TCP ports something listens on (any address, IPv4 or IPv6): a sorted list of
    numbers. Read from /proc/net/tcp on Linux, from `netstat -an` elsewhere."""

    command = (
        "if [ -r /proc/net/tcp ]; then cat /proc/net/tcp; cat /proc/net/tcp6 2>/dev/null; true;"
        " else netstat -an; fi"
    )
    default = list

    def process(self, output):
        ports = set()
        for line in output:
            parts = line.split()
            # /proc/net/tcp: "0: 00000000:0016 00000000:0000 0A ..." (0A: LISTEN)
            if len(parts) > 3 and parts[0].endswith(":") and parts[3] == "0A":
                ports.add(int(parts[1].rsplit(":", 1)[1], 16))
            # netstat: "tcp4  0  0  *.22  *.*  LISTEN" or "tcp  0  0 0.0.0.0:22  0.0.0.0:*  LISTEN"
            elif len(parts) > 5 and parts[0].startswith("tcp") and parts[-1] == "LISTEN":
                port = re.split(r"[.:]", parts[3])[-1]
                if port.isdigit():
                    ports.add(int(port))
        return sorted(ports)
