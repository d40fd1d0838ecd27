"""Packages on Alpine Linux hosts, with apk.

Tested at the command level only (JSON cases: facts in, commands out): the machines
the tests run on are Debian, which has no apk, and the busybox test root has none.
"""

from __future__ import annotations

from pyinfra.api import operation
from pyinfra.modules import unknown_operation
from pyinfra.modules._packages import earlier_commands, ensure_packages

# Touched after each update made here, so that cache_time can tell its age.
UPDATE_STAMP = "/var/cache/apk/.pyinfra-update-stamp"


def split_version(spec: str, installed: dict) -> tuple[str, str | None]:
    """'nginx=1.24.0-r7' -> ('nginx', '1.24.0-r7'), as apk pins versions."""
    name, _, version = spec.partition("=")
    return name, version or None


def same_version(current: str, wanted: str) -> bool:
    """Installed '1.24.0-r7' matches a wanted '1.24.0-r7' or '1.24.0'."""
    return current == wanted or current.startswith(wanted + "-r")


def cache_is_fresh(host, cache_time) -> bool:
    """Whether the last update made here is younger than `cache_time` seconds."""
    if not cache_time:
        return False
    stamp = host.fact.file(UPDATE_STAMP)
    if not stamp:
        return False
    now = host.fact.date
    return now is not None and stamp["mtime"] > now.timestamp() - cache_time


def update_command() -> str:
    return f"apk update && mkdir -p /var/cache/apk && touch {UPDATE_STAMP}"


def lists_updated_earlier(state, host) -> bool:
    """An earlier operation of this deploy updates the package lists: what can be
    upgraded is only known after it ran."""
    return any(command.startswith("apk update") for command in earlier_commands(state, host))


@operation
def update(state, host, cache_time=None):
    """Update the package lists (``apk update``).

    + cache_time: skip the update when the last one made by this operation (or by
      ``apk.packages(update=True)``) is younger than this many seconds; without it
      the lists are updated on every deploy
    """
    if not cache_is_fresh(host, cache_time):
        yield update_command()


@operation
def packages(
    state, host, packages=None, present=True, latest=False, update=False, cache_time=None, upgrade=False
):
    """Install or remove apk packages, after updating the package lists if asked.

    + packages: a package name or a list of them; ``name=version`` pins a version
    + present: whether the packages should be installed
    + latest: upgrade installed packages (without a pinned version) when a newer
      version is available
    + update: run ``apk update`` first
    + cache_time: with update, skip it when the last one is younger than this many
      seconds
    + upgrade: run ``apk upgrade`` first (every package), when anything can be
      upgraded

    What is installed is the ``apk_packages`` fact; what can be upgraded is
    ``apk_upgrades``, read when the deploy is built (always upgraded after an update
    in the same deploy).
    """
    updating = update and not cache_is_fresh(host, cache_time)
    if updating:
        yield update_command()
    fresh_lists = updating or lists_updated_earlier(state, host)
    upgrades = None
    if not fresh_lists and (upgrade or (latest and present)):
        upgrades = host.fact.apk_upgrades
    if upgrade and (upgrades is None or upgrades):
        yield "apk upgrade"

    def upgradable(name: str) -> bool:
        return upgrades is None or name in upgrades

    yield from ensure_packages(
        packages,
        host.fact.apk_packages,
        present,
        upgradable if latest else False,
        split_version,
        same_version,
        install_command="apk add",
        remove_command="apk del",
        upgrade_command="apk add --upgrade",
    )


__getattr__ = unknown_operation(__name__)
