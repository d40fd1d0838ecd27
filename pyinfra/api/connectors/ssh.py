"""SSH connector: paramiko. Connecting and liveness are here; commands travel through
one remote shell per identity (sshshellrun.py, sshshell.py) or, with SSH_TRANSPORT =
"exec", one exec channel each (sshexec.py); uploads too large for the shell are
streamed over a channel (sshupload.py decides); files.get reads through the same
commands (download.py)."""

from __future__ import annotations

import logging
import random
import time

import gevent
import paramiko

from pyinfra.api.command import LOGIN, FileUploadCommand, RunAs
from pyinfra.api.connectors.base import CommandResult, Connector, ShellStep, kill_tree_script
from pyinfra.api.connectors.download import ShellDownload
from pyinfra.api.connectors.sshdial import Dial
from pyinfra.api.connectors.sshexec import ChannelRunner
from pyinfra.api.connectors.sshlogin import POOL, Secrets, Unreachable, open_client, open_socket
from pyinfra.api.connectors.sshshell import RemoteShell, ShellDied, needs_tty
from pyinfra.api.connectors.sshshellrun import ShellRunner
from pyinfra.api.connectors.sshtarget import Endpoint, endpoint_of
from pyinfra.api.exceptions import ConnectError

logger = logging.getLogger("pyinfra")

# A host is failed when it leaves keepalives unanswered for this many TIMEOUTs in a row,
# like OpenSSH's ServerAliveCountMax: a server short of CPU answers late, not never.
SILENT_TIMEOUTS = 3


class SSHConnector(ShellRunner, ChannelRunner, ShellDownload, Connector):
    def __init__(self, host, config, on_output=None):
        super().__init__(host, config, on_output)
        self.client: paramiko.SSHClient | None = None
        # The open shells, by (sudo, sudo_user, su_user, pty).
        self._shells: dict[tuple, RemoteShell] = {}
        # Why a shell opened ahead of its first use could not start (sudo refused).
        self._shell_errors: dict[tuple, ShellDied] = {}
        # (sudo, sudo_user, su_user) whose sudo wants a terminal (requiretty).
        self._tty_identities: set[tuple] = set()
        # False once the host turned out to have no base64: uploads are streamed.
        self._shell_uploads = True
        # Commands in flight on their own exec channels: [identity, reported pid].
        self._channels: list[list] = []
        self._endpoint: Endpoint | None = None
        self._sock = None
        # ForwardAgent: what serves each channel's agent requests.
        self._agent_handlers: list = []

    # -- connecting ---------------------------------------------------------------

    def connect(self, dial: Dial | None = None) -> None:
        """Log in; a host that does not answer (refused, timed out) is tried again
        `ssh_connect_retries` more times, after a short randomised pause. `dial`: its
        TCP connection, started already (sshdial.py)."""
        endpoint = dial.endpoint if dial is not None else endpoint_of(self.host)
        data = self.host.data
        secrets = Secrets(password=data.ssh_password, key_password=data.ssh_key_password)
        try:
            retries = int(data.ssh_connect_retries or 0)
        except (TypeError, ValueError):
            raise ConnectError(
                f"ssh_connect_retries must be a number, not {data.ssh_connect_retries!r}"
            ) from None
        attempt = 0
        while True:
            try:
                self._login(endpoint, secrets, dial)
                return
            except Unreachable as error:
                dial = None
                if attempt >= retries:
                    if attempt:
                        raise ConnectError(f"{error} (after {attempt + 1} attempts)") from None
                    raise
                attempt += 1
                pause = random.uniform(0.5, 1.0) * min(2 ** (attempt - 1), 8)
                logger.debug("[%s] %s; trying again in %.1fs", self.host.name, error, pause)
                time.sleep(pause)

    def _login(self, endpoint: Endpoint, secrets: Secrets, dial: Dial | None = None) -> None:
        timeout = self.config.TIMEOUT
        sock = dial.take() if dial is not None else open_socket(endpoint, secrets, timeout, POOL)
        try:
            client = open_client(endpoint, secrets, timeout, sock=sock)
        except ConnectError:
            self._release_jump(endpoint, sock)
            raise
        self._endpoint, self._sock = endpoint, sock
        self.client = client
        self.connected = True

    def _release_jump(self, endpoint: Endpoint, sock) -> None:
        if sock is not None:
            sock.close()
        if endpoint.via is not None:
            POOL.release(endpoint.via)

    def prepare(self) -> None:
        """Open the shell facts and commands use unless told otherwise now, while other
        hosts are still connecting, rather than at the first fact. A shell that cannot
        start is reported where it is first used, as it would be without this."""
        if self.config.SSH_TRANSPORT != "shell":
            return
        config = self.config
        sudo = bool(config.SUDO)
        key = (sudo, config.SUDO_USER if sudo else None, config.SU_USER, False)
        try:
            self._shell(key)
        except ShellDied as died:
            self._shell_errors[key] = died
        except ConnectError:
            self.close()
            raise
        except (paramiko.SSHException, OSError, EOFError) as error:
            self.close()
            raise ConnectError(f"connection to {self.host.name} lost: {error}")

    # -- running ------------------------------------------------------------------

    def _open_channel(self):
        if not self.client:
            raise ConnectError(f"{self.host.name} is not connected")
        try:
            channel = self.client.get_transport().open_session(timeout=self.config.TIMEOUT)
            if self._endpoint is not None and self._endpoint.forward_agent:
                # Asked without waiting for the answer: no round trip more. The
                # handler serves the host's requests from the local agent.
                self._agent_handlers.append(paramiko.agent.AgentRequestHandler(channel))
            return channel
        except (paramiko.SSHException, OSError, EOFError, AttributeError) as error:
            self.connected = False
            raise ConnectError(f"connection to {self.host.name} lost: {error}")

    def _key(self, run_as: RunAs) -> tuple:
        """(sudo, sudo_user, su_user, pty): a terminal when asked, or when this
        identity's sudo refused to run without one (requiretty)."""
        identity = run_as.identity
        return (*identity, run_as.get_pty or identity in self._tty_identities)

    def _wants_tty(self, key: tuple, result: CommandResult) -> bool:
        """True (and remembered for the identity) when sudo refused for want of a
        terminal, so the command can run again, through a PTY: it did not run."""
        if key[3] or not key[0] or not needs_tty(result):
            return False
        logger.debug("[%s] sudo requires a tty: using a PTY from now on", self.host.name)
        self._tty_identities.add(key[:3])
        return True

    def run_shell_command(
        self, command: str, run_as: RunAs = LOGIN, stdin: bytes | None = None
    ) -> CommandResult:
        self._check_interrupted()
        if self.config.SSH_TRANSPORT == "shell" and stdin is None:
            return self._run_in_shell(run_as, [self._command_step(command, run_as)])[0]
        key = self._key(run_as)
        result = self._run_in_channel(command, run_as, stdin, pty=key[3])
        if self._wants_tty(key, result):
            result = self._run_in_channel(command, run_as, stdin, pty=True)
        return result

    def run_commands(self, commands: list, run_as: RunAs = LOGIN) -> list[CommandResult]:
        """Through the shell, consecutive commands and small uploads are written together
        (sshshellrun.py): one round trip for them all; over exec, one channel each."""
        if self.config.SSH_TRANSPORT != "shell":
            return super().run_commands(commands, run_as)
        self._check_interrupted()
        return self._run_batched(commands, run_as)

    # -- Ctrl-C -------------------------------------------------------------------

    def _check_interrupted(self) -> None:
        if self.interrupted:
            raise ConnectError(f"{self.host.name}: interrupted")

    def running(self) -> list[tuple[tuple, int | ShellStep | None]]:
        shells = [
            (key[:3], ShellStep(shell.pid, shell.step) if shell.pid else None)
            for key, shell in self._shells.items()
            if shell.busy
        ]
        return shells + [(identity, pid) for identity, pid in self._channels]

    def stop_tree(self, identity: tuple, target: int | ShellStep) -> None:
        """Over a channel of its own, as the command's user (sudo's password on stdin,
        through a PTY where sudo wants one)."""
        run_as = RunAs(*identity)
        if isinstance(target, ShellStep):
            script = kill_tree_script(target.shell, keep_root=True)
        else:
            script = kill_tree_script(target)
        self._run_in_channel(script, run_as, None, pty=self._key(run_as)[3], track=False)

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
            if not self._answers():
                self.connected = False
                silence = self._silent_timeouts() * interval
                raise ConnectError(f"{self.host.name} stopped answering (no reply within {silence:g}s)")

    def _silent_timeouts(self) -> int:
        """ssh_config's ServerAliveCountMax for the host, else SILENT_TIMEOUTS."""
        count = self._endpoint.alive_count if self._endpoint else None
        return count if count and count > 0 else SILENT_TIMEOUTS

    def _answers(self) -> bool:
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

    def put_file(self, src: str | bytes, dest: str, run_as: RunAs = LOGIN) -> CommandResult:
        if self.config.SSH_TRANSPORT == "shell":  # small through the shell, else streamed
            return self.run_commands([FileUploadCommand(src, dest)], run_as)[0]
        return self._upload(src, dest, run_as)

    def _upload(self, src, dest: str, run_as: RunAs) -> CommandResult:
        key = self._key(run_as)
        try:
            result = self._upload_stream(src, dest, run_as, key[3])
            if self._wants_tty(key, result):
                result = self._upload_stream(src, dest, run_as, True)
        except OSError as error:  # the local file
            return CommandResult(f"upload to {dest}", 1, [], [f"upload failed: {error.strerror or error}"])
        return result

    def close(self) -> None:
        for shell in self._shells.values():
            shell.close()
        self._shells.clear()
        for handler in self._agent_handlers:
            handler.close()
        self._agent_handlers.clear()
        if self.client is not None:
            self.client.close()
            self.client = None
            self._release_jump(self._endpoint, self._sock)
        self.connected = False
