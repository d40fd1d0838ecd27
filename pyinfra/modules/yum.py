"""Packages on RedHat-family hosts, with yum."""

from __future__ import annotations

import re

from pyinfra.api import operation
from pyinfra.modules._packages import ensure_packages


def split_version(spec: str, installed: dict) -> tuple[str, str | None]:
    """'nano-2.3.1' -> ('nano', '2.3.1'); a name with dashes ('python-devel') stays whole:
    the version starts at the first dash followed by a digit."""
    if spec in installed:
        return spec, None
    match = re.match(r"^(.+?)-(\d.*)$", spec)
    if match:
        return match.group(1), match.group(2)
    return spec, None


def same_version(current: str, wanted: str) -> bool:
    """Installed 'version-release' matches a wanted 'version' or 'version-release'."""
    return current == wanted or current.startswith(wanted + "-")


@operation
def packages(state, host, packages=None, present=True, latest=False, upgrade=False, clean=False):
    """Install or remove rpm packages with yum.

    + packages: a package name or a list of them; ``name-version`` pins a version
    + present: whether the packages should be installed
    + latest: upgrade installed packages (without a pinned version) to the newest
    + upgrade: run ``yum update`` first (every package)
    + clean: run ``yum clean all`` first
    """
    if clean:
        yield "yum clean all"
    if upgrade:
        yield "yum update -y"
    yield from ensure_packages(
        packages,
        host.fact.rpm_packages,
        present,
        latest,
        split_version,
        same_version,
        install_command="yum install -y",
        remove_command="yum remove -y",
        upgrade_command="yum update -y",
    )
