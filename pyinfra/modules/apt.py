"""Packages on Debian-family hosts, with apt-get."""

from __future__ import annotations

from pyinfra.api import operation
from pyinfra.modules._packages import ensure_packages

APT_GET = "DEBIAN_FRONTEND=noninteractive apt-get"
# Keep changed config files and take new defaults without asking: nobody can answer.
DPKG_OPTIONS = "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
# Touched after each update made here; update-notifier maintains the same file.
UPDATE_STAMP = "/var/lib/apt/periodic/update-success-stamp"


def split_version(spec: str, installed: dict) -> tuple[str, str | None]:
    name, _, version = spec.partition("=")
    return name, version or None


def same_version(current: str, wanted: str) -> bool:
    return current == wanted


def cache_is_fresh(host, cache_time) -> bool:
    """Whether the last apt-get update is younger than `cache_time` seconds."""
    if not cache_time:
        return False
    stamp = host.fact.file(UPDATE_STAMP)
    if not stamp:
        return False
    now = host.fact.date
    return now is not None and stamp["mtime"] > now.timestamp() - cache_time


@operation
def packages(
    state, host, packages=None, present=True, latest=False, update=False, cache_time=None, upgrade=False
):
    """Install or remove deb packages, after updating the package lists if asked.

    + packages: a package name or a list of them; ``name=version`` pins a version
    + present: whether the packages should be installed
    + latest: upgrade installed packages (without a pinned version) to the newest
    + update: run ``apt-get update`` first
    + cache_time: with update, skip it when the last one is younger than this many
      seconds
    + upgrade: run ``apt-get upgrade`` first
    """
    if update and not cache_is_fresh(host, cache_time):
        if cache_time:
            yield f"apt-get update && mkdir -p /var/lib/apt/periodic && touch {UPDATE_STAMP}"
        else:
            yield "apt-get update"
    if upgrade:
        yield f"{APT_GET} upgrade -y {DPKG_OPTIONS}"
    yield from ensure_packages(
        packages,
        host.fact.deb_packages,
        present,
        latest,
        split_version,
        same_version,
        install_command=f"{APT_GET} install -y {DPKG_OPTIONS}",
        remove_command=f"{APT_GET} remove -y",
        upgrade_command=f"{APT_GET} install -y --only-upgrade {DPKG_OPTIONS}",
    )
