"""Packages, repositories and keys on RedHat-family hosts, with yum."""

from __future__ import annotations

import hashlib
import posixpath
import re

from pyinfra.api import OperationError, operation, quote
from pyinfra.modules import (
    files,
    unknown_operation,
)
from pyinfra.modules._files import upload_commands
from pyinfra.modules._packages import ensure_packages, is_url, package_file

KEY_DIR = "/etc/pki/rpm-gpg"


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
def key(state, host, key):
    """Import an rpm signing key.

    + key: URL of the key, or path of a key file on the host

    A URL is downloaded once into /etc/pki/rpm-gpg and imported then; a file on the
    host is imported on every deploy (rpm ignores a key it has).
    """
    if not key:
        raise OperationError("key must be a URL or a path on the host")
    key = str(key)
    if is_url(key):
        digest = hashlib.sha1(key.encode()).hexdigest()[:12]
        path = posixpath.join(KEY_DIR, f"RPM-GPG-KEY-pyinfra-{digest}")
        downloads = list(files.download.operation_function(state, host, key, path))
        if not downloads:
            return
        yield f"mkdir -p {KEY_DIR}"
        yield from downloads
        key = path
    yield f"rpm --import {quote(key)}"


@operation
def repo(state, host, name, baseurl, present=True, description=None, gpgcheck=True, enabled=True):
    """Add or remove a yum repository: the file ``/etc/yum.repos.d/<name>.repo``.

    + name: the repository's ID (and file name)
    + baseurl: the repository's URL
    + present: whether the repository should be configured
    + description: its human name (defaults to ``name``)
    + gpgcheck: check the packages' signatures
    + enabled: whether yum uses it
    """
    if not re.fullmatch(r"[A-Za-z0-9._:-]+", str(name)):
        raise OperationError(f"a repository ID is letters, digits and ._:- only, not {name!r}")
    path = f"/etc/yum.repos.d/{name}.repo"
    if not present:
        yield from files.file.operation_function(state, host, path, present=False)
        return
    content = (
        f"[{name}]\n"
        f"name={description or name}\n"
        f"baseurl={baseurl}\n"
        f"enabled={1 if enabled else 0}\n"
        f"gpgcheck={1 if gpgcheck else 0}\n"
    ).encode()
    yield from upload_commands(host, content, hashlib.sha1(content).hexdigest(), path)


@operation
def rpm(state, host, source, present=True):
    """Install or remove an .rpm file, from a URL or a path on the host. Its
    dependencies are installed by yum.

    + source: URL of the .rpm (downloaded once to /var/cache/pyinfra, under a name
      ending in .rpm as yum needs, whatever the URL ends in) or its path on the host
    + present: whether the package should be installed (absent removes the package the
      file holds)

    Nothing is done when the very version the file holds is installed already.
    """
    yield from package_file(
        state,
        host,
        source,
        present,
        info=host.fact.rpm_package,
        installed=host.fact.rpm_packages,
        install=lambda path: f"yum install -y {path}",
        remove=lambda name: f"yum remove -y {name}",
        remove_by_file=lambda path: (
            f"n=$(rpm -qp --queryformat '%{{NAME}}' {path}) && if rpm -q \"$n\" >/dev/null 2>&1;"
            f' then yum remove -y "$n"; fi'
        ),
        suffix=".rpm",
    )


def update_commands(host):
    updates = host.fact.yum_updates
    if updates is None or updates:
        yield "yum update -y"


@operation
def upgrade(state, host):
    """Update every installed package (``yum update``) when updates are available."""
    yield from update_commands(host)


@operation
def packages(state, host, packages=None, present=True, latest=False, upgrade=False, clean=False):
    """Install or remove rpm packages with yum.

    + packages: a package name or a list of them; ``name-version`` pins a version
    + present: whether the packages should be installed
    + latest: update installed packages (without a pinned version) when a newer
      version is available
    + upgrade: run ``yum update`` first (every package), when updates are available
    + clean: run ``yum clean all`` first (on every deploy)
    """
    if clean:
        yield "yum clean all"
    if upgrade:
        yield from update_commands(host)

    def updatable(name: str) -> bool:
        updates = host.fact.yum_updates
        return updates is None or name in updates

    yield from ensure_packages(
        packages,
        host.fact.rpm_packages,
        present,
        updatable if latest else False,
        split_version,
        same_version,
        install_command="yum install -y",
        remove_command="yum remove -y",
        upgrade_command="yum update -y",
    )


__getattr__ = unknown_operation(__name__)
