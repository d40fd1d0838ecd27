"""Facts of Alpine Linux hosts: installed apk packages and available upgrades."""

from __future__ import annotations

import re

from pyinfra.api import FactBase

# Alpine versions end in a package release, "-r<N>": "musl-1.2.4-r2".
NAME_VERSION = re.compile(r"^(\S+)-([^-\s]+-r\d+)$")


class ApkPackages(FactBase):
    """Installed apk packages: `{name: 'version-rN'}`. {} without apk."""

    command = "apk info -v"
    requires_command = "apk"
    default = dict

    def process(self, output):
        packages = {}
        for line in output:
            match = NAME_VERSION.match(line.strip())
            if match:
                packages[match.group(1)] = match.group(2)
            elif line.strip() and not line.startswith("WARNING"):
                raise ValueError(f"not a package: {line!r}")
        return packages


class ApkUpgrades(FactBase):
    """Installed packages the package lists have a newer version of (``apk version -l
    '<'``): `{name: newer 'version-rN'}`, {} when there is none. None without apk."""

    command = "apk version -l '<'"
    requires_command = "apk"

    def process(self, output):
        upgrades = {}
        for line in output:
            # "Installed:    Available:" then "busybox-1.36.1-r2      < 1.36.1-r5"
            words = line.split()
            if len(words) == 3 and words[1] == "<":
                match = NAME_VERSION.match(words[0])
                if match:
                    upgrades[match.group(1)] = words[2]
        return upgrades
