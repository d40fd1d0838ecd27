"""Packages, sources and keys on Debian-family hosts, with apt-get."""

from __future__ import annotations

import hashlib
import posixpath
import re

from pyinfra.api import OperationError, operation, quote
from pyinfra.facts.apt import parse_sources_list_line
from pyinfra.modules import unknown_operation
from pyinfra.modules._files import path_arg
from pyinfra.modules._lines import edit_line, escape_bre
from pyinfra.modules._packages import earlier_commands, ensure_packages, is_url, package_file

APT_GET = "DEBIAN_FRONTEND=noninteractive apt-get"
# Keep changed config files and take new defaults without asking: nobody can answer.
DPKG_OPTIONS = "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
# Touched after each update made here; update-notifier maintains the same file.
UPDATE_STAMP = "/var/lib/apt/periodic/update-success-stamp"
KEY_DIR = "/etc/apt/trusted.gpg.d"


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


def update_command(touch_stamp: bool) -> str:
    if touch_stamp:
        return f"apt-get update && mkdir -p /var/lib/apt/periodic && touch {UPDATE_STAMP}"
    return "apt-get update"


def lists_updated_earlier(state, host) -> bool:
    """An earlier operation of this deploy updates the package lists: what can be
    upgraded is only known after it ran."""
    return any(command.startswith("apt-get update") for command in earlier_commands(state, host))


@operation
def key(state, host, key=None, keyserver=None, keyid=None):
    """Make apt trust a signing key, from a URL, a file on the host or a keyserver. The
    key is stored in /etc/apt/trusted.gpg.d (no apt-key needed).

    + key: URL of the key (fetched on the host), or path of a key file on the host
    + keyserver: keyserver to receive ``keyid`` from, when no ``key`` is given
    + keyid: the key's ID or fingerprint; with it, nothing is done when apt already
      trusts that key. Without it a ``key`` is added once (by its name).
    """
    if keyid is not None:
        keyid = re.sub(r"\s+", "", str(keyid)).upper()
        if keyid.startswith("0X"):
            keyid = keyid[2:]
        if not re.fullmatch(r"[0-9A-F]{8,40}", keyid):
            raise OperationError(f"keyid {keyid!r} is not a hexadecimal key ID or fingerprint")
    if not key and not (keyserver and keyid):
        raise OperationError("give a key (URL or file), or a keyserver and a keyid")

    if keyid:
        known = host.fact.apt_keys or {}
        ids = [key_id for long_id, info in known.items() for key_id in [long_id, *info.get("subkeys", [])]]
        fingerprints = [info.get("fingerprint") for info in known.values()]
        if any(key_id.endswith(keyid[-16:]) for key_id in ids) or keyid in fingerprints:
            return

    tag = keyid[-16:] if keyid else hashlib.sha1(str(key).encode()).hexdigest()[:12]
    base = posixpath.join(KEY_DIR, f"pyinfra-{tag}")
    if not keyid and (host.fact.file(f"{base}.asc") or host.fact.file(f"{base}.gpg")):
        return

    if key:
        if is_url(key):
            fetch = (
                f"{{ if command -v curl >/dev/null 2>&1; then curl -fsSL {quote(key)};"
                f" else wget -q -O- {quote(key)}; fi; }}"
            )
        else:
            fetch = f"cat {path_arg(key)}"
        # Armored keys go in a .asc file, binary ones in .gpg: apt reads both.
        yield (
            f't=$(mktemp) && {fetch} > "$t" && if grep -q "BEGIN PGP PUBLIC KEY" "$t";'
            f' then cp "$t" {quote(base + ".asc")} && chmod 644 {quote(base + ".asc")};'
            f' else cp "$t" {quote(base + ".gpg")} && chmod 644 {quote(base + ".gpg")}; fi;'
            f' r=$?; rm -f "$t"; [ $r -eq 0 ]'
        )
        return

    target = quote(base + ".gpg")
    yield (
        f'd=$(mktemp -d) && gpg --batch --homedir "$d" --keyserver {quote(keyserver)}'
        f' --recv-keys {quote(keyid)} && gpg --batch --homedir "$d" --export {quote(keyid)} > {target}'
        f' && chmod 644 {target}; r=$?; rm -rf "$d"; [ $r -eq 0 ]'
    )


def same_source(entry: dict, wanted: dict) -> bool:
    return (
        entry["type"] == wanted["type"]
        and entry["url"].rstrip("/") == wanted["url"].rstrip("/")
        and entry["distribution"] == wanted["distribution"]
        and sorted(entry["components"]) == sorted(wanted["components"])
    )


@operation
def repo(state, host, name, present=True, filename=None):
    """Add or remove an apt source line.

    + name: the sources.list line, like ``deb http://deb.debian.org/debian bookworm main``
    + present: whether the source should be there
    + filename: name of a file in /etc/apt/sources.list.d (``.list`` is added) to keep
      the line in, instead of /etc/apt/sources.list

    A source already configured in any file (one-line or deb822 format) is not added
    again.
    """
    line = " ".join(str(name).split())
    wanted = parse_sources_list_line(line)
    if wanted is None:
        raise OperationError(f"not an apt source line: {name!r}")
    if filename:
        if "/" in str(filename):
            raise OperationError(f"filename is a name in /etc/apt/sources.list.d, not a path: {filename!r}")
        path = f"/etc/apt/sources.list.d/{filename}"
        if not path.endswith(".list"):
            path += ".list"
    else:
        path = "/etc/apt/sources.list"

    pattern = f"^{escape_bre(line)}$"
    if present:
        if any(same_source(entry, wanted) for entry in host.fact.apt_sources or []):
            return
        yield from edit_line(host, path, pattern, line)
    else:
        yield from edit_line(host, path, pattern, line, present=False)


@operation
def ppa(state, host, name, present=True):
    """Add or remove an Ubuntu PPA with add-apt-repository.

    + name: the PPA, like ``ppa:deadsnakes/ppa``; ``ppa:owner`` is short for
      ``ppa:owner/ppa``, as add-apt-repository reads it
    + present: whether the PPA should be configured
    """
    match = re.fullmatch(r"ppa:([\w.+-]+)(?:/([\w.+-]+))?", str(name))
    if not match:
        raise OperationError(f"a PPA is written ppa:<user>/<name>, not {name!r}")
    owner, archive = match.group(1), match.group(2) or "ppa"
    name, path = f"ppa:{owner}/{archive}", f"/{owner}/{archive}/"
    configured = any(
        "launchpad" in entry["url"] and path in entry["url"].rstrip("/") + "/"
        for entry in host.fact.apt_sources or []
    )
    if present and not configured:
        yield f"add-apt-repository -y {quote(name)}"
    elif not present and configured:
        yield f"add-apt-repository -y --remove {quote(name)}"


@operation
def deb(state, host, source, present=True):
    """Install or remove a .deb file, from a URL or a path on the host. Its dependencies
    are installed by apt-get.

    + source: URL of the .deb (downloaded once to /var/cache/pyinfra, under a name
      ending in .deb as apt-get needs, whatever the URL ends in) or its path on the host
    + present: whether the package should be installed (absent removes the package the
      file holds)

    Nothing is done when the very version the file holds is installed already.
    """
    yield from package_file(
        state,
        host,
        source,
        present,
        info=host.fact.deb_package,
        installed=host.fact.deb_packages,
        install=lambda path: f"{APT_GET} install -y {DPKG_OPTIONS} {path}",
        remove=lambda name: f"{APT_GET} remove -y {name}",
        remove_by_file=lambda path: (
            f"n=$(dpkg-deb -f {path} Package) && if dpkg-query -W -f '${{Status}}' \"$n\" 2>/dev/null"
            f' | grep -q " installed$"; then {APT_GET} remove -y "$n"; fi'
        ),
        suffix=".deb",
    )


@operation
def update(state, host, touch_periodic=False):
    """Update the package lists (``apt-get update``): runs on every deploy; use
    ``apt.packages(update=True, cache_time=...)`` to update only when they are old.

    + touch_periodic: touch /var/lib/apt/periodic/update-success-stamp afterwards, the
      file ``cache_time`` reads
    """
    yield update_command(touch_periodic)


@operation
def upgrade(state, host):
    """Upgrade the installed packages (``apt-get upgrade``) when any can be upgraded.

    Whether any can is read from the package lists when the deploy is built; after an
    ``apt.update`` (or ``update=True``) earlier in the same deploy it always runs.
    """
    yield from upgrade_commands(host, lists_updated_earlier(state, host))


@operation
def packages(
    state, host, packages=None, present=True, latest=False, update=False, cache_time=None, upgrade=False
):
    """Install or remove deb packages, after updating the package lists if asked.

    + packages: a package name or a list of them; ``name=version`` pins a version
    + present: whether the packages should be installed
    + latest: upgrade installed packages (without a pinned version) when a newer
      version is available
    + update: run ``apt-get update`` first
    + cache_time: with update, skip it when the last one is younger than this many
      seconds
    + upgrade: run ``apt-get upgrade`` first, when anything can be upgraded
    """
    updating = update and not cache_is_fresh(host, cache_time)
    if updating:
        yield update_command(bool(cache_time))
    fresh_lists = updating or lists_updated_earlier(state, host)
    if upgrade:
        yield from upgrade_commands(host, fresh_lists)

    def upgradable(name: str) -> bool:
        upgrades = host.fact.apt_upgrades
        return fresh_lists or upgrades is None or name in upgrades

    yield from ensure_packages(
        packages,
        host.fact.deb_packages,
        present,
        upgradable if latest else False,
        split_version,
        same_version,
        install_command=f"{APT_GET} install -y {DPKG_OPTIONS}",
        remove_command=f"{APT_GET} remove -y",
        upgrade_command=f"{APT_GET} install -y --only-upgrade {DPKG_OPTIONS}",
    )


def upgrade_commands(host, fresh_lists: bool):
    upgrades = host.fact.apt_upgrades
    if fresh_lists or upgrades is None or upgrades:
        yield f"{APT_GET} upgrade -y {DPKG_OPTIONS}"


__getattr__ = unknown_operation(__name__)
