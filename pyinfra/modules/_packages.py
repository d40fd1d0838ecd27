"""What apt.packages and yum.packages share: comparing wanted packages with installed."""

from __future__ import annotations

from typing import Callable

from pyinfra.api import OperationError, quote


def package_list(packages) -> list[str]:
    if packages is None:
        return []
    if isinstance(packages, str):
        packages = [packages]
    if not isinstance(packages, (list, tuple, set)):
        raise OperationError(f"packages must be a name or a list of names, not {packages!r}")
    names = []
    for package in packages:
        if not isinstance(package, str):
            raise OperationError(f"a package name must be a string, not {package!r}")
        if package.strip():
            names.append(package.strip())
    return names


def ensure_packages(
    packages,
    installed: dict,
    present: bool,
    latest: bool,
    split_version: Callable[[str, dict], tuple[str, str | None]],
    same_version: Callable[[str, str], bool],
    install_command: str,
    remove_command: str,
    upgrade_command: str,
):
    """The install / upgrade / remove commands that make `packages` (names, or names with
    a version) installed or not, given `installed` ({name: version})."""
    installed = installed or {}
    to_install, to_upgrade, to_remove = [], [], []
    for spec in package_list(packages):
        name, version = split_version(spec, installed)
        current = installed.get(name)
        if present:
            if current is None or (version and not same_version(current, version)):
                to_install.append(spec)
            elif latest and not version:
                # Whether a newer version exists is only known to the package manager.
                to_upgrade.append(spec)
        elif current is not None and (not version or same_version(current, version)):
            to_remove.append(name)

    for command, names in (
        (install_command, to_install),
        (upgrade_command, to_upgrade),
        (remove_command, to_remove),
    ):
        if names:
            yield f"{command} {' '.join(quote(name) for name in names)}"
