"""Packages, repositories and keys on RedHat-family hosts, with dnf.

yum's operations, through dnf: Fedora, and RHEL, Rocky and Alma Linux 8 and later.
"""

from __future__ import annotations

import hashlib
import posixpath
import re

from pyinfra.api import OperationError, operation, quote
from pyinfra.modules import (
    files,
    unknown_operation,
)
from pyinfra.modules._files import path_arg, upload_commands
from pyinfra.modules._packages import earlier_commands, ensure_packages, is_url
from pyinfra.modules.yum import KEY_DIR, same_version, split_version

REPO_DIR = "/etc/yum.repos.d"


@operation
def key(state, host, key):
    """Make rpm trust a signing key (``rpm --import``), from a URL or a key file on
    the host.

    + key: URL of the key, or path of a key file on the host

    A URL is downloaded once into /etc/pki/rpm-gpg. Nothing is done when rpm trusts
    every key of the file already (the ``rpm_keys`` fact); a key removed since
    (``rpm -e gpg-pubkey-...``) is imported again.
    """
    if not key:
        raise OperationError("key must be a URL or a path on the host")
    key = str(key)
    if is_url(key):
        digest = hashlib.sha1(key.encode()).hexdigest()[:12]
        path = posixpath.join(KEY_DIR, f"RPM-GPG-KEY-pyinfra-{digest}")
        downloads = list(files.download.operation_function(state, host, key, path))
        if downloads:
            yield f"mkdir -p {KEY_DIR}"
            yield from downloads
            yield f"rpm --import {quote(path)}"
            return
        key = path
    # None: the file is not there yet (an earlier operation of the deploy makes it).
    ids = host.fact.rpm_key_file(key)
    trusted = host.fact.rpm_keys or []
    if ids is None or any(key_id not in trusted for key_id in ids):
        yield f"rpm --import {path_arg(key)}"


def repo_option(value, label: str) -> str:
    text = str(value)
    if "\n" in text or "\r" in text:
        raise OperationError(f"{label} must be one line, not {value!r}")
    return text


@operation
def repo(
    state, host, name, baseurl, present=True, description=None, gpgcheck=True, enabled=True, gpgkey=None
):
    """Add or remove a dnf repository: the file ``/etc/yum.repos.d/<name>.repo``
    (the directory is made when missing).

    + name: the repository's ID (and file name)
    + baseurl: the repository's URL (``file:///srv/repo`` for a local one)
    + present: whether the repository should be configured
    + description: its human name (defaults to ``name``)
    + gpgcheck: check the packages' signatures
    + enabled: whether dnf uses it
    + gpgkey: URL of the key its packages are signed with (``file:///etc/pki/...``)
    """
    if not re.fullmatch(r"[A-Za-z0-9._:-]+", str(name)):
        raise OperationError(f"a repository ID is letters, digits and ._:- only, not {name!r}")
    path = f"{REPO_DIR}/{name}.repo"
    if not present:
        yield from files.file.operation_function(state, host, path, present=False)
        return
    lines = [
        f"[{name}]",
        f"name={repo_option(description or name, 'description')}",
        f"baseurl={repo_option(baseurl, 'baseurl')}",
        f"enabled={1 if enabled else 0}",
        f"gpgcheck={1 if gpgcheck else 0}",
    ]
    if gpgkey:
        lines.append(f"gpgkey={repo_option(gpgkey, 'gpgkey')}")
    content = ("\n".join(lines) + "\n").encode()
    yield from upload_commands(host, content, hashlib.sha1(content).hexdigest(), path, create_remote_dir=True)


def repos_changed_earlier(state, host) -> bool:
    """An earlier operation of this deploy changes what dnf would find to upgrade (a
    repository file, a package that may bring one): `dnf check-update` read now
    would answer for the host as it was, or fail for want of the repository."""
    return any(
        f"{REPO_DIR}/" in command or command.startswith(("dnf ", "yum ", "rpm "))
        for command in earlier_commands(state, host)
    )


@operation
def packages(state, host, packages=None, present=True, latest=False, upgrade=False, clean=False):
    """Install or remove rpm packages with dnf.

    + packages: a package name or a list of them; ``name-version`` pins a version
    + present: whether the packages should be installed
    + latest: upgrade installed packages (without a pinned version) when a newer
      version is available
    + upgrade: run ``dnf upgrade`` first (every package), when updates are available
    + clean: run ``dnf clean all`` first (on every deploy)

    What is installed is the ``rpm_packages`` fact; what can be upgraded is
    ``dnf_updates``, read when the deploy is built. After an earlier operation of the
    same deploy changed the repositories or packages (``dnf.repo``, ``dnf.packages``,
    rpm), what can be upgraded is not known yet: ``upgrade`` then always runs, and
    ``latest`` upgrades each installed package it names.
    """
    if clean:
        yield "dnf clean all"
    updates = None
    if (upgrade or (latest and present)) and not repos_changed_earlier(state, host):
        updates = host.fact.dnf_updates
    if upgrade and (updates is None or updates):
        yield "dnf upgrade -y"

    def updatable(name: str) -> bool:
        return updates is None or name in updates

    yield from ensure_packages(
        packages,
        host.fact.rpm_packages,
        present,
        updatable if latest else False,
        split_version,
        same_version,
        install_command="dnf install -y",
        remove_command="dnf remove -y",
        upgrade_command="dnf upgrade -y",
    )


__getattr__ = unknown_operation(__name__)
