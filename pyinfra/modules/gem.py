"""Ruby gems."""

from __future__ import annotations

from pyinfra.api import operation
from pyinfra.modules import unknown_operation
from pyinfra.modules._packages import ensure_packages


def split_version(spec: str, installed: dict) -> tuple[str, str | None]:
    """'rake:13.0.6' -> ('rake', '13.0.6')."""
    name, _, version = spec.partition(":")
    return name, version or None


def same_version(current: list, wanted: str) -> bool:
    """Several versions of a gem may be installed: the wanted one is among them."""
    return wanted in current


@operation
def packages(state, host, packages=None, present=True, latest=False):
    """Install or remove Ruby gems.

    + packages: a gem name or a list of them; ``name:version`` pins a version
    + present: whether the gems should be installed (absent removes every version)
    + latest: update installed gems (without a pinned version) with ``gem update``
      (gem asks its source on every deploy)
    """
    yield from ensure_packages(
        packages,
        host.fact.gem_packages,
        present,
        latest,
        split_version,
        same_version,
        install_command="gem install",
        remove_command="gem uninstall --all --executables --ignore-dependencies",
        upgrade_command="gem update",
    )


__getattr__ = unknown_operation(__name__)
