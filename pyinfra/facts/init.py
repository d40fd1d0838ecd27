"""Facts about services: init.d and BSD rc.d scripts, upstart jobs, systemd units."""

from __future__ import annotations

import re

from pyinfra.api import FactBase
from pyinfra.api.facts import ABSENT


def status_lines(output) -> dict:
    """{name: exit status} from "name=status" lines."""
    statuses = {}
    for line in output:
        name, sep, code = line.rpartition("=")
        if sep and code.strip().isdigit():
            statuses[name] = int(code)
    return statuses


class InitdStatus(FactBase):
    """Services of /etc/init.d whose script has a ``status`` action: `{name: running}`,
    True when the status exits 0, False when it says stopped (1 to 3), None when it
    cannot tell. {} without /etc/init.d."""

    # Each script's own status: the LSB exit codes are 0 running, 1-3 not running.
    command = (
        'for s in /etc/init.d/*; do if [ -f "$s" ] && [ -x "$s" ] && grep -q status "$s"; then'
        ' "$s" status >/dev/null 2>&1 </dev/null; echo "${s##*/}=$?"; fi; done; true'
    )
    default = dict

    def process(self, output):
        return {
            name: True if code == 0 else False if code in (1, 2, 3) else None
            for name, code in status_lines(output).items()
        }


class RcdStatus(FactBase):
    """Services of BSD /etc/rc.d: `{name: running}` (their ``check`` on OpenBSD,
    ``onestatus`` elsewhere exiting 0). {} without /etc/rc.d."""

    command = (
        'if [ "$(uname -s)" = OpenBSD ]; then a=check; else a=onestatus; fi;'
        ' for s in /etc/rc.d/*; do if [ -f "$s" ] && [ -x "$s" ]; then'
        ' "$s" $a >/dev/null 2>&1 </dev/null; echo "${s##*/}=$?"; fi; done; true'
    )
    default = dict

    def process(self, output):
        return {name: code == 0 for name, code in status_lines(output).items()}


class RcdEnabled(FactBase):
    """Services enabled in /etc/rc.conf and /etc/rc.conf.local: `{name: enabled}` from
    ``name_enable="YES"`` (FreeBSD) and ``name_flags=...`` (OpenBSD, NO: disabled). The
    last setting wins."""

    command = "cat /etc/rc.conf /etc/rc.conf.local 2>/dev/null; true"
    default = dict

    def process(self, output):
        enabled = {}
        for line in output:
            match = re.match(r"^\s*([A-Za-z0-9_]+)_(enable|flags)=(.*)$", line.split("#", 1)[0])
            if not match:
                continue
            name, kind, value = match.groups()
            value = value.strip().strip("\"'")
            if kind == "enable":
                enabled[name] = value.upper() == "YES"
            else:
                enabled[name] = value.upper() != "NO"
        return enabled


class UpstartStatus(FactBase):
    """Upstart jobs: `{name: running}` from ``initctl list``. {} without upstart."""

    command = "initctl list"
    requires_command = "initctl"
    default = dict

    def process(self, output):
        jobs = {}
        for line in output:
            # "ssh start/running, process 1028" / "tty1 stop/waiting" / "network-interface (lo) start/running"
            match = re.match(r"^(\S+)(?: \([^)]*\))? (\w+)/(\w+)", line)
            if match:
                name, goal, state = match.groups()
                jobs[name] = jobs.get(name, False) or (goal == "start" and state == "running")
        return jobs


def unit_name(unit: str) -> str:
    return unit[: -len(".service")] if unit.endswith(".service") else unit


def service_units(output, column: int, states, min_parts: int) -> dict:
    """`{name: True when the unit's `column` is one of `states`}` from systemctl's
    table, for lines of at least `min_parts` words."""
    units = {}
    for line in output:
        parts = line.split()
        if len(parts) >= min_parts and "." in parts[0]:
            units[unit_name(parts[0])] = parts[column] in states
    return units


class SystemdStatus(FactBase):
    """systemd services: `{name: running}` (name without ``.service``), True when the
    unit is active (or activating, reloading). {} when systemd does not run the host
    (no /run/systemd/system, the test systemd itself uses)."""

    command = (
        "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then"
        " systemctl --no-legend --no-pager --plain --all list-units --type=service;"
        f" else echo {ABSENT}; fi"
    )
    default = dict

    def process(self, output):
        # "ssh.service loaded active running OpenBSD Secure Shell server"
        return service_units(output, 2, ("active", "activating", "reloading"), min_parts=4)


# Unit file states that mean "starts at boot" or "nothing to enable".
ENABLED_STATES = {"enabled", "enabled-runtime", "static", "indirect", "generated", "alias", "linked"}


class SystemdEnabled(FactBase):
    """systemd service unit files: `{name: enabled}` (name without ``.service``). True
    for enabled units and for those that cannot be enabled (static, indirect,
    generated); False for disabled and masked ones. {} without systemd."""

    command = "systemctl --no-legend --no-pager list-unit-files --type=service"
    requires_command = "systemctl"
    default = dict

    def process(self, output):
        # "ssh.service enabled enabled" (newer systemd adds the vendor preset)
        return service_units(output, 1, ENABLED_STATES, min_parts=2)
