"""Facts of BSD hosts: installed packages (pkg on FreeBSD, pkg_info on OpenBSD and
NetBSD)."""

from __future__ import annotations

import re

from pyinfra.api import FactBase
from pyinfra.api.facts import ABSENT


class PkgPackages(FactBase):
    """Installed BSD packages: `{name: version}`. Empty without pkg and pkg_info."""

    command = (
        "if command -v pkg >/dev/null 2>&1; then pkg info;"
        f" elif command -v pkg_info >/dev/null 2>&1; then pkg_info; else echo {ABSENT}; fi"
    )
    default = dict

    def process(self, output):
        packages = {}
        for line in output:
            words = line.split()
            if not words:
                continue
            # "bash-5.2.15   GNU Project's Bourne Again SHell", "py39-pip-23.0.1", "vim-9.0.1677-no_x11"
            match = re.match(r"^(.+?)-(\d[^-\s]*(?:-[^\s]+)?)$", words[0])
            if match:
                packages[match.group(1)] = match.group(2)
        return packages
