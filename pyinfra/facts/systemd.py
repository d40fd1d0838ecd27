"""Facts of one systemd unit: whether it starts at boot and whether it runs."""

from __future__ import annotations

import re

from pyinfra.api import FactBase, quote

WORD = re.compile(r"^[a-z-]+$")


class SystemdUnitState(FactBase):
    """One systemd unit (``nginx.service``, ``backup.timer``): `{enabled, active}`.
    ``enabled`` is its unit file state as ``systemctl is-enabled`` says it (enabled,
    disabled, static, masked...; ``not-found`` when there is no such unit), read from
    the unit files, so it is known even where systemd does not run (a container, an
    image being built). ``active`` is ``systemctl is-active``'s word (active,
    inactive, failed...), None when systemd does not run the host. None without
    systemctl; any other failure is an error."""

    requires_command = "systemctl"

    def command(self, name):
        unit = quote(name)
        # An unknown unit: systemd 252 says "No such file or directory" on stderr,
        # later ones print not-found. Anything else that is not one word is an error.
        return (
            f"e=$(systemctl is-enabled -- {unit} 2>&1);"
            ' case "$e" in *"No such file or directory"*) e=not-found;; esac;'
            ' case "$e" in ""|*[!a-z-]*) printf "%s\\n" "$e" >&2; (exit 1);;'
            ' *) echo "enabled=$e";'
            f' if [ -d /run/systemd/system ]; then echo "active=$(systemctl is-active -- {unit} 2>&1)"; fi;;'
            " esac"
        )

    def process(self, output):
        values = dict(line.split("=", 1) for line in output if "=" in line)
        enabled, active = values.get("enabled"), values.get("active")
        for value in (enabled, active):
            if value is not None and not WORD.match(value):
                raise ValueError(f"systemctl said {value!r}")
        if enabled is None:
            raise ValueError(f"systemctl said {output!r}")
        return {"enabled": enabled, "active": active}
