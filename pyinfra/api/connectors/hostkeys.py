"""Host keys, checked like OpenSSH's StrictHostKeyChecking=accept-new against one
known_hosts file shared by every connection of the process."""

from __future__ import annotations

import os
import threading

import paramiko

from pyinfra.api.exceptions import ConnectError

_known_hosts_lock = threading.Lock()


class HostKeyChanged(ConnectError):
    pass


class KnownHosts:
    """One known_hosts file, read once and shared by every connection of the process
    (re-read when something else changed it), checked like OpenSSH's
    StrictHostKeyChecking=accept-new: unknown hosts are trusted and remembered; a host
    whose key differs from the remembered one is refused."""

    _files: dict[str, KnownHosts] = {}

    def __init__(self, path: str):
        self.path = path
        self.keys = paramiko.HostKeys()
        self.mtime = None
        if os.path.exists(path):
            try:
                self.keys.load(path)
            except Exception as error:  # a corrupt line: say which file
                raise ConnectError(f"cannot read known_hosts file {path}: {error}")
            self.mtime = os.path.getmtime(path)

    @classmethod
    def get(cls, path: str) -> KnownHosts:
        with _known_hosts_lock:
            known = cls._files.get(path)
            current = os.path.getmtime(path) if os.path.exists(path) else None
            if known is None or known.mtime != current:
                known = cls._files[path] = KnownHosts(path)
            return known

    def check(self, hostname: str, key) -> None:
        with _known_hosts_lock:
            remembered = self.keys.lookup(hostname)
            if remembered is None:
                os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
                with open(self.path, "a") as handle:
                    handle.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
                self.mtime = os.path.getmtime(self.path)
                self.keys.add(hostname, key.get_name(), key)
                return
            same_type = remembered.get(key.get_name())
            if same_type == key:
                return
            expected = same_type or next(iter(remembered.values()))
            raise paramiko.BadHostKeyException(hostname, key, expected)


class KnownHostsPolicy(paramiko.MissingHostKeyPolicy):
    """The client holds no keys of its own, so paramiko asks here for every host."""

    def __init__(self, known: KnownHosts):
        self.known = known

    def missing_host_key(self, client, hostname, key):
        self.known.check(hostname, key)


def known_hosts_line(path: str, lookup: str) -> str:
    """Where a host's remembered key is, for the changed-key message."""
    try:
        with open(path) as handle:
            for number, line in enumerate(handle, 1):
                if line.split(" ", 1)[0].split(",").count(lookup):
                    return f"{path}:{number}"
    except OSError:
        pass
    return path
