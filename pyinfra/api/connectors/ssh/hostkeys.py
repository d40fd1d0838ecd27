"""Host keys, checked like OpenSSH's StrictHostKeyChecking (accept-new by default)
against the user's known_hosts files (the first one records new keys) and the global
ones (/etc/ssh/ssh_known_hosts), read once and shared by every connection."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import threading

import paramiko

from pyinfra.api.exceptions import ConnectError

logger = logging.getLogger("pyinfra")
_known_hosts_lock = threading.Lock()


def fingerprint(key) -> str:
    """OpenSSH's `SHA256:` form of a key's fingerprint."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def lookup_name(hostname: str, port: int) -> str:
    return hostname if port == 22 else f"[{hostname}]:{port}"


class KnownHosts:
    """One known_hosts file, read once and shared by every connection of the process
    (re-read when something else changed it). Indexed by host name: paramiko's HostKeys
    scans every entry for each lookup (and for each line it loads), which costs
    seconds of CPU from a few thousand hosts on."""

    _files: dict[str, KnownHosts] = {}

    def __init__(self, path: str):
        self.path = path
        # name -> [(line number, key)]; hashed names (|1|salt|hash) are matched by trying
        # each, as they can only be.
        self._plain: dict[str, list[tuple[int, paramiko.PKey]]] = {}
        self._hashed: list[tuple[str, int, paramiko.PKey]] = []
        self._lines = 0
        self.mtime = None
        if os.path.exists(path):
            try:
                self._load()
            except Exception as error:  # a corrupt line: say which file
                raise ConnectError(f"cannot read known_hosts file {path}: {error}") from None
            self.mtime = os.path.getmtime(path)

    def _load(self) -> None:
        with open(self.path) as handle:
            for number, line in enumerate(handle, 1):
                line = line.strip()
                self._lines = number
                if not line or line.startswith("#"):
                    continue
                try:
                    entry = paramiko.hostkeys.HostKeyEntry.from_line(line, number)
                except paramiko.SSHException:  # a key type paramiko does not know
                    continue
                if entry is not None and entry.key is not None:
                    self._index(entry.hostnames, number, entry.key)

    def _index(self, names, number: int, key) -> None:
        for name in names:
            if name.startswith("|1|"):
                self._hashed.append((name, number, key))
            else:
                self._plain.setdefault(name, []).append((number, key))

    def lookup(self, hostname: str) -> dict:
        """Key type -> key remembered for `hostname`; the first line wins for a type."""
        found = list(self._plain.get(hostname, ()))
        found += [(number, key) for name, number, key in self._hashed if _names_match(name, hostname)]
        keys: dict = {}
        for _, key in sorted(found, key=lambda item: item[0]):
            keys.setdefault(key.get_name(), key)
        return keys

    @classmethod
    def get(cls, path: str) -> KnownHosts:
        known = cls._files.get(path)
        current = os.path.getmtime(path) if os.path.exists(path) else None
        if known is None or known.mtime != current:
            known = cls._files[path] = KnownHosts(path)
        return known

    def add(self, hostname: str, key) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        with open(self.path, "a") as handle:
            handle.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        self.mtime = os.path.getmtime(self.path)
        self._lines += 1
        self._index([hostname], self._lines, key)


class KnownHostsPolicy(paramiko.MissingHostKeyPolicy):
    """The client holds no keys of its own, so paramiko asks here for every host."""

    def __init__(self, endpoint):
        self.endpoint = endpoint

    def missing_host_key(self, client, hostname, key):
        endpoint = self.endpoint
        lookup = lookup_name(endpoint.hostname, endpoint.port)
        with _known_hosts_lock:
            files = [KnownHosts.get(path) for path in endpoint.known_hosts + endpoint.global_known_hosts]
            remembered = {}
            for known in files:
                for name, value in known.lookup(lookup).items():
                    remembered.setdefault(name, value)
            if not remembered:
                if endpoint.strict == "yes":
                    raise ConnectError(refusal_message(endpoint, key, changed=False))
                if endpoint.known_hosts:
                    KnownHosts.get(endpoint.known_hosts[0]).add(lookup, key)
                return
            if remembered.get(key.get_name()) == key:
                return
            if endpoint.strict == "no":
                logger.warning("host key of %s has changed (StrictHostKeyChecking no): connecting", lookup)
                return
            expected = remembered.get(key.get_name()) or next(iter(remembered.values()))
            raise paramiko.BadHostKeyException(lookup, key, expected)


def host_key_policy(endpoint) -> KnownHostsPolicy:
    return KnownHostsPolicy(endpoint)


def refusal_message(endpoint, key, changed: bool) -> str:
    """Names the host, the key type, its SHA256 fingerprint and where to fix it."""
    lookup = lookup_name(endpoint.hostname, endpoint.port)
    offered = f"{key.get_name()} key {fingerprint(key)}"
    if changed:
        paths = endpoint.known_hosts + endpoint.global_known_hosts
        return (
            f"host key of {lookup} has CHANGED (offered {offered}); refusing to connect. If the "
            f"change is expected, remove the old key at {known_hosts_line(paths, lookup)}"
        )
    where = endpoint.known_hosts[0] if endpoint.known_hosts else "a known_hosts file"
    return (
        f"host key of {lookup} is not known (offered {offered}) and StrictHostKeyChecking is "
        f"yes; refusing to connect. Add it to {where} (ssh-keyscan -p {endpoint.port} "
        f"{endpoint.hostname}) if it is the right one"
    )


def _names_match(field: str, lookup: str) -> bool:
    for entry in field.split(","):
        if entry.startswith("|1|"):
            try:
                salt, digest = (base64.b64decode(part) for part in entry[3:].split("|"))
            except ValueError:
                continue
            mine = hmac.new(salt, lookup.encode(), hashlib.sha1).digest()
            if hmac.compare_digest(mine, digest):
                return True
        elif entry == lookup:
            return True
    return False


def known_hosts_line(paths, lookup: str) -> str:
    """`file:line` of a host's remembered key (hashed entries too), for the message."""
    if isinstance(paths, str):
        paths = [paths]
    for path in paths:
        try:
            with open(path) as handle:
                for number, line in enumerate(handle, 1):
                    fields = line.split()
                    if fields and fields[0].startswith("@"):
                        fields = fields[1:]
                    if fields and _names_match(fields[0], lookup):
                        return f"{path}:{number}"
        except OSError:
            continue
    return paths[0] if paths else "known_hosts"
