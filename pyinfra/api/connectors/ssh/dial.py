"""Dialling a host before the SSH library is loaded.

Importing paramiko (and the cryptography under it) takes longer than a TCP handshake on
most networks. The command starts the TCP connection of the hosts it connects first,
then imports paramiko while the kernel completes the handshake and the server sends its
banner, so that the import costs no time on the wire. Only direct connections to an
address given as a number are dialled this way: a name would need a DNS lookup first,
and jump hosts and ProxyCommand carry the connection themselves.

This module imports no SSH library.
"""

from __future__ import annotations

import errno
import os
import socket
import time

from gevent import monkey, select

from pyinfra.api.connectors.ssh.target import Endpoint, endpoint_of
from pyinfra.api.exceptions import Unreachable


class Dial:
    """A TCP connection to the host's SSH port, started when made; `take()` waits for
    it (up to the host's timeout, counted from the dialling). Errors are the ones the
    usual connect would give."""

    def __init__(self, endpoint: Endpoint, timeout: float):
        self.endpoint = endpoint
        self.timeout = endpoint.connect_timeout or timeout
        self.deadline = time.monotonic() + self.timeout
        self.sock: socket.socket | None = None
        family = _numeric_family(endpoint.hostname)
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        code = sock.connect_ex((endpoint.hostname, endpoint.port))
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            sock.close()
            self.error: int | None = code
            return
        self.sock, self.error = sock, None

    def wait(self, seconds: float | None = None) -> bool:
        """True once the connection attempt has ended (connected or refused); False when
        `seconds` (or the rest of the timeout) passed first."""
        if self.sock is None:
            return True
        left = max(0.0, self.deadline - time.monotonic())
        _, ready, _ = select.select([], [self.sock], [], left if seconds is None else min(seconds, left))
        return bool(ready)

    def take(self) -> socket.socket:
        """The connected socket; Unreachable when nothing answered."""
        where = self.endpoint.where
        if not self.wait():
            self.close()
            raise Unreachable(f"no SSH answer within {self.timeout:g}s ({where})")
        sock, self.sock = self.sock, None
        if sock is None:
            raise Unreachable(f"cannot connect to {where}: {os.strerror(self.error or errno.EBADF)}")
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            sock.close()
            raise Unreachable(f"cannot connect to {where}: {os.strerror(code)}")
        sock.settimeout(None)
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def dial(host, timeout: float) -> Dial | None:
    """The host's connection, started now, when it can be (see the module's text)."""
    if host.name == "@local" or not monkey.is_module_patched("socket"):
        return None  # without gevent's sockets a second connect() does not wait
    try:
        endpoint = endpoint_of(host)
    except Exception:
        return None  # the usual connect says what is wrong
    if endpoint.via is not None or endpoint.proxy_command or _numeric_family(endpoint.hostname) is None:
        return None
    try:
        return Dial(endpoint, timeout)
    except OSError:
        return None


def _numeric_family(hostname: str):
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, hostname)
            return family
        except (OSError, ValueError):
            continue
    return None
