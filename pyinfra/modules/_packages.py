"""What apt.packages and yum.packages share: comparing wanted packages with installed."""

from __future__ import annotations

import hashlib
import posixpath
import re
from typing import Callable
from urllib.parse import urlparse

from pyinfra.api import OperationError, context, quote


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
    latest,
    split_version: Callable[[str, dict], tuple[str, str | None]],
    same_version: Callable[[str, str], bool],
    install_command: str,
    remove_command: str,
    upgrade_command: str,
):
    """The install / upgrade / remove commands that make `packages` (names, or names with
    a version) installed or not, given `installed` ({name: version}). `latest` is a
    bool, or a function telling whether an installed package has a newer version."""
    installed = installed or {}
    to_install, to_upgrade, to_remove = [], [], []
    for spec in package_list(packages):
        name, version = split_version(spec, installed)
        current = installed.get(name)
        if present:
            if current is None or (version and not same_version(current, version)):
                to_install.append(spec)
            elif latest and not version and (not callable(latest) or latest(name)):
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


def earlier_commands(state, host) -> list[str]:
    """The commands this deploy recorded for `host` before the operation being built:
    facts read now describe the host before those run."""
    making = context.making_for(host)
    current = making.host_op if making is not None else None
    commands = []
    # A snapshot: waiting for an operation's commands lets the deploy record more.
    for op in list(getattr(state, "host_ops", {}).get(host, {}).values()):
        if op is current:
            break
        commands.extend(str(command) for command in context.made_commands(host, op))
    return commands


def is_url(source: str) -> bool:
    return urlparse(str(source)).scheme in ("http", "https", "ftp")


# Downloaded packages stay here, so a deploy does not fetch them again. Installing
# packages needs root, and a directory only root writes to is safe from planted links.
DOWNLOAD_DIR = "/var/cache/pyinfra"


def download_once(state, host, url: str, suffix: str = ""):
    """Download `url` once into DOWNLOAD_DIR, named after it and ending in `suffix`:
    (commands, path). apt-get and yum take a local file only by its .deb/.rpm name,
    and a URL need not end in one (a download link, a query)."""
    from pyinfra.modules import files

    digest = hashlib.sha1(url.encode()).hexdigest()[:12]
    base = re.sub(r"[^A-Za-z0-9._+-]", "_", posixpath.basename(urlparse(url).path)) or "download"
    if suffix and not base.endswith(suffix):
        base += suffix
    path = posixpath.join(DOWNLOAD_DIR, f"{digest}-{base}")
    commands = list(files.directory.operation_function(state, host, DOWNLOAD_DIR, mode=700))
    commands += list(files.download.operation_function(state, host, url, path))
    return commands, path


def package_file(
    state,
    host,
    source,
    present: bool,
    info: Callable,
    installed: dict | None,
    install: Callable[[str], str],
    remove: Callable[[str], str],
    remove_by_file: Callable[[str], str],
    suffix: str,
):
    """Commands installing or removing the package a .deb/.rpm file holds (shared by
    apt.deb and yum.rpm). `info(path)` reads the file's {name, version} fact;
    `remove_by_file(path)` removes its package when the file is only on the host later."""
    source = str(source)
    if is_url(source):
        commands, path = download_once(state, host, source, suffix)
        yield from commands
    else:
        path = source if "/" in source else f"./{source}"
    details = info(path)
    installed = installed or {}
    if present:
        if details is None or installed.get(details["name"]) != details["version"]:
            yield install(quote(path))
        return
    if details is not None:
        if details["name"] in installed:
            yield remove(quote(details["name"]))
        return
    # The file is not on the host yet (downloaded above): its package is known then.
    yield remove_by_file(quote(path))
