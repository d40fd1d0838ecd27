"""Facts of Debian-family hosts: installed .deb packages."""

from __future__ import annotations

from pyinfra.api import FactBase


class DebPackages(FactBase):
    """Installed deb packages: `{name: version}`. Empty without dpkg."""

    # One line per package dpkg knows: "install ok installed<TAB>nano<TAB>7.2-1".
    command = "dpkg-query -W -f '${Status}\\t${Package}\\t${Version}\\n'"
    requires_command = "dpkg-query"
    default = dict

    def process(self, output):
        packages = {}
        for line in output:
            parts = line.split("\t")
            # Removed packages whose config files remain are listed too: skip them.
            if len(parts) == 3 and parts[0].endswith(" installed"):
                packages[parts[1]] = parts[2]
        return packages
