"""One host's SSH session: the TCP connection (dialled early, or through a jump host
or ProxyCommand: login.py), the login, the channels commands run in, and whether the
server still answers (keepalives while waiting for a command)."""

from __future__ import annotations

import logging
import time

import gevent
import paramiko

from pyinfra.api.connectors.ssh.dial import Dial
from pyinfra.api.connectors.ssh.login import POOL, Secrets, open_client, open_socket
from pyinfra.api.connectors.ssh.target import Endpoint, endpoint_of
from pyinfra.api.exceptions import ConnectError

logger = logging.getLogger("pyinfra")

# A host is failed when it leaves keepalives unanswered for this many TIMEOUTs in a row,
# like OpenSSH's ServerAliveCountMax: a server short of CPU answers late, not never.
SILENT_TIMEOUTS = 3


class Session:
    """Logged in once (connect), then channels on demand (open_channel). `connected`
    turns False as soon as the connection is known to be gone."""

    def __init__(self, host, config):
        self.host = host
        self.config = config
        self.client: paramiko.SSHClient | None = None
        self.connected = False
        self.endpoint: Endpoint | None = None
        self._sock = None
        # ForwardAgent: what serves each channel's agent requests.
        self._agent_handlers: list = []
        self._banners: set[bytes] = set()

    # -- logging in -------------------------------------------------------------------

    def connect_retries(self) -> int:
        """`ssh_connect_retries`: how many more times a host that does not answer
        (refused, timed out) is tried."""
        value = self.host.data.ssh_connect_retries
        try:
            return int(value or 0)
        except (TypeError, ValueError):
            raise ConnectError(f"ssh_connect_retries must be a number, not {value!r}") from None

    def connect(self, dial: Dial | None = None) -> None:
        """Log in, once; Unreachable when the host does not answer. `dial`: its TCP
        connection, started already (dial.py)."""
        endpoint = dial.endpoint if dial is not None else endpoint_of(self.host)
        data = self.host.data
        secrets = Secrets(password=data.ssh_password, key_password=data.ssh_key_password)
        self._login(endpoint, secrets, dial)

    def _login(self, endpoint: Endpoint, secrets: Secrets, dial: Dial | None = None) -> None:
        timeout = self.config.TIMEOUT
        sock = dial.take() if dial is not None else open_socket(endpoint, secrets, timeout, POOL)
        try:
            client = open_client(endpoint, secrets, timeout, sock=sock)
        except ConnectError:
            self._release_jump(endpoint, sock)
            raise
        self.endpoint, self._sock = endpoint, sock
        self.client = client
        self.connected = True

    def _release_jump(self, endpoint: Endpoint, sock) -> None:
        if sock is not None:
            sock.close()
        if endpoint.via is not None:
            POOL.release(endpoint.via)

    # -- channels ---------------------------------------------------------------------

    def open_channel(self):
        """A new session channel; ConnectError when the connection is gone."""
        if not self.client:
            raise ConnectError(f"{self.host.name} is not connected")
        try:
            channel = self.client.get_transport().open_session(timeout=self.config.TIMEOUT)
            if self.endpoint is not None and self.endpoint.forward_agent:
                # Asked without waiting for the answer: no round trip more. The
                # handler serves the host's requests from the local agent.
                self._agent_handlers.append(paramiko.agent.AgentRequestHandler(channel))
            return channel
        except (paramiko.SSHException, OSError, EOFError, AttributeError) as error:
            raise self.lost(error)

    def banner(self, text: bytes) -> None:
        """What the login shell printed before a command (banner.py): logged once."""
        if text not in self._banners and len(self._banners) < 10:
            self._banners.add(text)
            shown = text.decode("utf-8", "replace").strip()
            logger.debug("[%s] the login shell prints, before every command: %r", self.host.name, shown)

    def lost(self, error) -> ConnectError:
        """The connection is gone: what to raise."""
        self.connected = False
        detail = str(error)  # paramiko's EOFError says nothing
        return ConnectError(f"connection to {self.host.name} lost" + (f": {detail}" if detail else ""))

    # -- liveness ---------------------------------------------------------------------

    def wait(self, work, timeout: float | None) -> bool:
        """Wait for `work` (a greenlet) to end; False when `timeout` passed first. Every
        TIMEOUT seconds without an end, the server must answer a keepalive (within
        SILENT_TIMEOUTS x TIMEOUT): a host that stalls fails instead of hanging the run."""
        deadline = time.monotonic() + timeout if timeout else None
        interval = self.config.TIMEOUT
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            work.join(interval if left is None else min(interval, left))
            if work.ready():
                if work.exception is not None:
                    raise work.exception
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            if not self.answers():
                self.connected = False
                silence = self._silent_timeouts() * interval
                raise ConnectError(f"{self.host.name} stopped answering (no reply within {silence:g}s)")

    def _silent_timeouts(self) -> int:
        """ssh_config's ServerAliveCountMax for the host, else SILENT_TIMEOUTS."""
        count = self.endpoint.alive_count if self.endpoint else None
        return count if count and count > 0 else SILENT_TIMEOUTS

    def answers(self) -> bool:
        """True when the server answers a keepalive within SILENT_TIMEOUTS x TIMEOUT.
        One is sent every TIMEOUT; a reply to any of them counts (they come in order)."""
        transport = self.client.get_transport() if self.client else None
        for _ in range(self._silent_timeouts()):
            if transport is None or not transport.is_active():
                return False
            with gevent.Timeout(self.config.TIMEOUT, False):
                transport.global_request("keepalive@openssh.com", wait=True)
                # It returns early, without a reply, when the transport closes.
                return transport.is_active()
        return False

    def close(self) -> None:
        for handler in self._agent_handlers:
            handler.close()
        self._agent_handlers.clear()
        if self.client is not None:
            self.client.close()
            self.client = None
            self._release_jump(self.endpoint, self._sock)
        self.connected = False
