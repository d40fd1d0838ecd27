"""Logging into an Endpoint with paramiko: directly, through a ProxyCommand, or through
jump hosts whose connections are shared by every target behind them."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass

import gevent
import paramiko

from pyinfra.api.connectors.ssh.hostkeys import host_key_policy, refusal_message
from pyinfra.api.connectors.ssh.paramiko_internals import Transport
from pyinfra.api.connectors.ssh.target import Endpoint
from pyinfra.api.exceptions import ConnectError, HostKeyChanged, Unreachable

logger = logging.getLogger("pyinfra")


@dataclass
class Secrets:
    password: str | None = None  # the target's login password (not the hops')
    key_password: str | None = None  # for encrypted keys, on every hop


def _connect_kwargs(endpoint: Endpoint, secrets: Secrets, timeout: float, is_target: bool) -> dict:
    kwargs = {
        "hostname": endpoint.hostname,
        "port": endpoint.port,
        "username": endpoint.user,
        "timeout": timeout,
        "banner_timeout": timeout,
        "auth_timeout": timeout,
        "allow_agent": True,
        "look_for_keys": not endpoint.identities_only,
        "transport_factory": Transport,
    }
    keys = [path for path in endpoint.key_files if os.path.isfile(path)]
    if keys:
        kwargs["key_filename"] = keys
        kwargs["look_for_keys"] = False
    if endpoint.identities_only:
        kwargs["allow_agent"] = False
    if secrets.key_password:
        kwargs["passphrase"] = secrets.key_password
    if secrets.password and is_target:
        kwargs["password"] = secrets.password
    return kwargs


def open_client(
    endpoint: Endpoint, secrets: Secrets, timeout: float, sock=None, is_target: bool = True
) -> paramiko.SSHClient:
    """An authenticated client for the endpoint; ConnectError saying why not."""
    timeout = endpoint.connect_timeout or timeout
    settings = _connect_kwargs(endpoint, secrets, timeout, is_target)
    where = endpoint.where
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(host_key_policy(endpoint))
    if sock is not None:
        settings["sock"] = sock
    no_answer = Unreachable(f"no SSH answer within {timeout:g}s ({where})")
    try:
        with gevent.Timeout(timeout, no_answer):
            client.connect(**settings)
    except ConnectError as error:
        got = _received(client)
        client.close()
        if error is no_answer and got and not _speaks_ssh(got):
            raise _banner_problem(got, error, timeout, where) from None
        raise
    except paramiko.BadHostKeyException as error:
        client.close()
        raise HostKeyChanged(refusal_message(endpoint, error.key, changed=True)) from None
    except paramiko.AuthenticationException as error:
        client.close()
        raise ConnectError(f"authentication failed for {endpoint.user}@{endpoint.name}: {error}") from None
    except paramiko.PasswordRequiredException:
        client.close()
        raise ConnectError(f"the key for {where} is encrypted: give ssh_key_password") from None
    except (socket.timeout, TimeoutError) as error:
        got = _received(client)
        client.close()
        if got and not _speaks_ssh(got):
            raise _banner_problem(got, error, timeout, where) from None
        raise no_answer from None
    except paramiko.ssh_exception.NoValidConnectionsError as error:
        client.close()
        reasons = {e.strerror or str(e) for e in error.errors.values()}
        raise Unreachable(f"cannot connect to {where}: {', '.join(sorted(reasons))}") from None
    except (OSError, paramiko.SSHException, EOFError) as error:
        got = _received(client)
        client.close()
        if "No authentication methods" in str(error):
            raise ConnectError(
                f"authentication failed for {endpoint.user}@{endpoint.name}: no key or password "
                "to offer (no ssh_key, IdentityFile, agent key or default key)"
            ) from None
        if "protocol banner" in str(error) or "protocol version" in str(error):
            raise _banner_problem(got, error, timeout, where) from None
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise Unreachable(f"cannot connect to {where}: {reason}") from None
    interval = endpoint.alive_interval if endpoint.alive_interval is not None else 30
    if interval:
        client.get_transport().set_keepalive(interval)
    return client


def _speaks_ssh(got: bytes) -> bool:
    return got.startswith(b"SSH-") or b"\nSSH-" in got


def _received(client: paramiko.SSHClient) -> bytes:
    transport = client.get_transport()
    return transport.banner_bytes if isinstance(transport, Transport) else b""


def _banner_problem(got: bytes, error: BaseException, timeout: float, where: str) -> ConnectError:
    """What the server's first words (`got`) say about why the SSH handshake failed."""
    timeouts = (socket.timeout, TimeoutError, gevent.Timeout, Unreachable)
    # paramiko's banner error chains the timeout or EOF that caused it.
    timed_out = isinstance(error, timeouts) or isinstance(error.__context__, timeouts)
    first = got.strip().split(b"\n")[0].rstrip(b"\r")
    if not first:
        if timed_out:
            return Unreachable(f"no SSH answer within {timeout:g}s ({where})")
        # What sshd does while it starts, or past MaxStartups: worth trying again.
        return Unreachable(f"the server closed the connection before sending an SSH banner ({where})")
    # Control characters stay as they are: the CLI shows them as visible escapes.
    shown = first[:60].decode("utf-8", "replace") + ("..." if len(first) > 60 else "")
    # Not worth trying again: whatever listens there does not speak SSH.
    late = f" and no SSH banner within {timeout:g}s" if timed_out else ""
    return ConnectError(f"not an SSH server: got '{shown}'{late} ({where})")


class _Shared:
    def __init__(self):
        self.lock = threading.Lock()
        self.client: paramiko.SSHClient | None = None
        self.error: ConnectError | None = None
        self.users = 0


class JumpPool:
    """One authenticated connection per jump host (and the chain in front of it), shared
    by every target behind it: N targets cost one handshake with the bastion. A jump
    connection closes when the last target using it lets go."""

    def __init__(self):
        self._lock = threading.Lock()
        self._shared: dict[tuple, _Shared] = {}
        self.handshakes = 0  # jump-host logins made (for the bench and the tests)

    def acquire(self, hop: Endpoint, secrets: Secrets, timeout: float) -> paramiko.SSHClient:
        key = hop.key()
        with self._lock:
            shared = self._shared.setdefault(key, _Shared())
            shared.users += 1
        try:
            with shared.lock:
                if shared.error is not None:
                    raise shared.error
                client = shared.client
                if client is None or not client.get_transport() or not client.get_transport().is_active():
                    shared.client = None
                    try:
                        shared.client = self._login(hop, secrets, timeout)
                    except ConnectError as error:
                        shared.error = error
                        raise
                return shared.client
        except BaseException:
            self.release(hop)
            raise

    def _login(self, hop: Endpoint, secrets: Secrets, timeout: float) -> paramiko.SSHClient:
        sock = open_socket(hop, secrets, timeout, self)
        try:
            client = open_client(hop, secrets, timeout, sock=sock, is_target=False)
        except BaseException:
            if sock is not None:
                self._close_sock(hop, sock)
            raise
        client._pyinfra_sock = sock  # released with the client
        self.handshakes += 1
        logger.debug("logged into jump host %s", hop.where)
        return client

    def _close_sock(self, endpoint: Endpoint, sock) -> None:
        sock.close()
        if endpoint.via is not None:
            self.release(endpoint.via)

    def release(self, hop: Endpoint) -> None:
        key = hop.key()
        with self._lock:
            shared = self._shared.get(key)
            if shared is None:
                return
            shared.users -= 1
            if shared.users > 0:
                return
            del self._shared[key]
        if shared.client is not None:
            sock = getattr(shared.client, "_pyinfra_sock", None)
            shared.client.close()
            if sock is not None:
                self._close_sock(hop, sock)


def open_socket(endpoint: Endpoint, secrets: Secrets, timeout: float, pool: JumpPool):
    """What to talk SSH to the endpoint over: None (a TCP connection paramiko makes), a
    ProxyCommand, or a direct-tcpip channel from the jump host in front of it (whose
    shared connection is held until `pool.release(endpoint.via)`)."""
    if endpoint.proxy_command:
        try:
            return paramiko.ProxyCommand(endpoint.proxy_command)
        except Exception as error:  # paramiko wraps OSError its own way
            raise ConnectError(f"ProxyCommand for {endpoint.name} failed: {error}") from None
    hop = endpoint.via
    if hop is None:
        return None
    try:
        client = pool.acquire(hop, secrets, timeout)
    except ConnectError as error:
        # Unreachable stays Unreachable: a bastion that is booting is worth a retry too.
        kind = Unreachable if isinstance(error, Unreachable) else ConnectError
        raise kind(f"cannot reach {endpoint.name} through {hop.label}: {error}") from None
    try:
        return client.get_transport().open_channel(
            "direct-tcpip", (endpoint.hostname, endpoint.port), ("127.0.0.1", 0), timeout=timeout
        )
    except (paramiko.SSHException, OSError, EOFError) as error:
        pool.release(hop)
        reason = str(error) or type(error).__name__
        if isinstance(error, paramiko.ChannelException):
            reason = f"{error.text} (the jump host could not open {endpoint.hostname}:{endpoint.port})"
        raise ConnectError(f"cannot reach {endpoint.name} through {hop.label}: {reason}") from None


# Every connector of a process shares one pool, so every target shares its bastions.
POOL = JumpPool()
