"""Packages on BSD hosts: pkg on FreeBSD, pkg_add on OpenBSD and NetBSD."""

from __future__ import annotations

from pyinfra.api import operation, quote
from pyinfra.modules import unknown_operation  # noqa: E402
from pyinfra.modules._packages import ensure_packages
from pyinfra.modules.yum import split_version


def same_version(current: str, wanted: str) -> bool:
    return current == wanted


@operation
def packages(state, host, packages=None, present=True, pkg_path=None):
    """Install or remove BSD packages.

    + packages: a package name or a list of them; ``name-version`` pins a version
    + present: whether the packages should be installed
    + pkg_path: the mirror to install from (``PKG_PATH``, for pkg_add)
    """
    if host.fact.os == "FreeBSD":
        install, remove = "pkg install -y", "pkg delete -y"
    else:
        install, remove = "pkg_add", "pkg_delete"
        if pkg_path:
            install = f"PKG_PATH={quote(pkg_path)} {install}"
    yield from ensure_packages(
        packages,
        host.fact.pkg_packages,
        present,
        False,
        split_version,
        same_version,
        install_command=install,
        remove_command=remove,
        upgrade_command=install,
    )


__getattr__ = unknown_operation(__name__)
