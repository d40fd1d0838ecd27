"""SSH connector: paramiko; one remote shell per host and identity (sshshell.py), or with
SSH_TRANSPORT = "exec" one exec channel per command."""

from __future__ import annotations

import base64
import io
import logging
import os
import socket
import threading
import time
import uuid

import gevent
import paramiko

from pyinfra.api.command import FileUploadCommand, as_user, quote, wrap_command
from pyinfra.api.connectors.base import (
    GRACE,
    CommandResult,
    Connector,
    OutputLines,
    kill_tree_script,
    read_lines,
    reporting_pid,
    start_reader,
)
from pyinfra.api.connectors.sshshell import RemoteShell, ShellDied
from pyinfra.api.exceptions import ConnectError

logger = logging.getLogger("pyinfra")
_known_hosts_lock = threading.Lock()

# A host is failed when it leaves keepalives unanswered for this many TIMEOUTs in a row,
# like OpenSSH's ServerAliveCountMax: a server short of CPU answers late, not never.
SILENT_TIMEOUTS = 3


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


class SSHConnector(Connector):
    def __init__(self, host, config, on_output=None):
        super().__init__(host, config, on_output)
        self.client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._shells: dict[tuple, RemoteShell] = {}
        # Why a shell opened ahead of its first use could not start (sudo refused).
        self._shell_errors: dict[tuple, ShellDied] = {}
        self._shell_uploads = True
        # Commands in flight on their own exec channels: [identity, reported pid].
        self._channels: list[list] = []

    # -- connecting ---------------------------------------------------------------

    def _settings(self) -> dict:
        data = self.host.data
        hostname = data.ssh_hostname or self.host.name
        port = int(data.ssh_port or 22)
        kwargs = {
            "hostname": hostname,
            "port": port,
            "username": data.ssh_user or _current_user(),
            "timeout": self.config.TIMEOUT,
            "banner_timeout": self.config.TIMEOUT,
            "auth_timeout": self.config.TIMEOUT,
            "allow_agent": True,
            "look_for_keys": True,
        }
        if data.ssh_key:
            kwargs["key_filename"] = os.path.expanduser(data.ssh_key)
            if not os.path.isfile(kwargs["key_filename"]):
                raise ConnectError(f"ssh_key file not found: {kwargs['key_filename']}")
            kwargs["look_for_keys"] = False
        if data.ssh_key_password:
            kwargs["passphrase"] = data.ssh_key_password
        if data.ssh_password:
            kwargs["password"] = data.ssh_password
        return kwargs

    def known_hosts_file(self) -> str:
        path = self.host.data.ssh_known_hosts_file or "~/.ssh/known_hosts"
        return os.path.expanduser(path)

    def connect(self) -> None:
        settings = self._settings()
        where = f"{settings['username']}@{settings['hostname']}:{settings['port']}"
        known_hosts = self.known_hosts_file()
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(KnownHostsPolicy(KnownHosts.get(known_hosts)))
        timeout = self.config.TIMEOUT
        try:
            with gevent.Timeout(timeout, ConnectError(f"no SSH answer within {timeout}s ({where})")):
                client.connect(**settings)
        except ConnectError:
            client.close()
            raise
        except paramiko.BadHostKeyException as error:
            client.close()
            port = settings["port"]
            lookup = settings["hostname"] if port == 22 else f"[{settings['hostname']}]:{port}"
            raise HostKeyChanged(
                f"host key of {lookup} has CHANGED (got {error.key.get_name()} "
                f"{error.key.get_fingerprint().hex()}); refusing to connect. If the change "
                f"is expected, remove the old key at {known_hosts_line(known_hosts, lookup)}"
            )
        except paramiko.AuthenticationException as error:
            client.close()
            raise ConnectError(f"authentication failed for {where}: {error}")
        except paramiko.PasswordRequiredException:
            client.close()
            raise ConnectError(f"the key for {where} is encrypted: give ssh_key_password")
        except (socket.timeout, TimeoutError):
            client.close()
            raise ConnectError(f"no SSH answer within {timeout}s ({where})")
        except paramiko.ssh_exception.NoValidConnectionsError as error:
            client.close()
            reasons = {e.strerror or str(e) for e in error.errors.values()}
            raise ConnectError(f"cannot connect to {where}: {', '.join(sorted(reasons))}")
        except (OSError, paramiko.SSHException, EOFError) as error:
            client.close()
            if "protocol banner" in str(error):  # paramiko's own banner timeout
                raise ConnectError(f"no SSH answer within {timeout}s ({where})")
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            raise ConnectError(f"cannot connect to {where}: {reason}")
        transport = client.get_transport()
        transport.set_keepalive(30)
        self.client = client
        self.connected = True

    def prepare(self) -> None:
        """Open the shell facts and commands use unless told otherwise now, while other
        hosts are still connecting, rather than at the first fact. A shell that cannot
        start is reported where it is first used, as it would be without this."""
        if self.config.SSH_TRANSPORT != "shell":
            return
        config = self.config
        sudo = bool(config.SUDO)
        identity = (sudo, config.SUDO_USER if sudo else None, config.SU_USER)
        try:
            self._shell(identity)
        except ShellDied as died:
            self._shell_errors[identity] = died
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
            return self.client.get_transport().open_session(timeout=self.config.TIMEOUT)
        except (paramiko.SSHException, OSError, EOFError, AttributeError) as error:
            self.connected = False
            raise ConnectError(f"connection to {self.host.name} lost: {error}")

    def run_shell_command(
        self, command, sudo=False, sudo_user=None, su_user=None, env=None, timeout=None, stdin=None
    ) -> CommandResult:
        self._check_interrupted()
        if self.config.SSH_TRANSPORT == "shell" and stdin is None:
            step = self._command_step(command, env, timeout)
            return self._run_in_shell((bool(sudo), sudo_user, su_user), [step])[0]
        return self._run_in_channel(command, sudo, sudo_user, su_user, env, timeout, stdin)

    def run_commands(self, commands, sudo=False, sudo_user=None, su_user=None, env=None, timeout=None):
        """Through the shell, consecutive commands and small uploads are written together
        (up to SHELL_UPLOAD_MAX of script at a time): one round trip for them all."""
        if self.config.SSH_TRANSPORT != "shell":
            return super().run_commands(commands, sudo, sudo_user, su_user, env, timeout)
        self._check_interrupted()
        identity = (bool(sudo), sudo_user, su_user)
        pending = list(commands)
        results: list[CommandResult] = []
        while pending:
            steps, sent, size = [], [], 0
            while pending:
                step = self._step(pending[0], env, timeout)
                if step is None or (steps and size + len(step[0]) > SHELL_UPLOAD_MAX):
                    break
                steps.append(step)
                sent.append(pending.pop(0))
                size += len(step[0])
            if not steps:  # an upload SFTP carries
                command = pending.pop(0)
                results.append(self._upload_sftp(command.src, command.dest, sudo, sudo_user, su_user))
            else:
                if len(steps) > 1:
                    logger.debug("[%s] running %d command(s) in one round trip", self.host.name, len(steps))
                done = self._run_in_shell(identity, steps)
                results.extend(done)
                last = sent[len(done) - 1]
                if isinstance(last, FileUploadCommand) and done[-1].exit_code == 127:
                    self._shell_uploads = False  # no base64 on this host: SFTP from now on
                    results[-1] = self._upload_sftp(last.src, last.dest, sudo, sudo_user, su_user)
                    pending[:0] = sent[len(done) :]
            if not results[-1].ok:
                break
        return results

    def _step(self, command, env, timeout) -> tuple[str, str, float | None] | None:
        """(script, label, timeout) for the shell; None for an upload SFTP must carry."""
        if not isinstance(command, FileUploadCommand):
            return self._command_step(command.command, env, timeout)
        if not self._shell_uploads:
            return None
        src, dest = command.src, command.dest
        content = src if isinstance(src, bytes) else _read_small(src, SHELL_UPLOAD_MAX)
        if content is None:
            return None
        delimiter = f"PYINFRA_EOF_{uuid.uuid4().hex}"
        encoded = base64.encodebytes(content).decode()
        return f"base64 -d > {quote(dest)} <<'{delimiter}'\n{encoded}{delimiter}", f"upload to {dest}", None

    @staticmethod
    def _command_step(command: str, env, timeout) -> tuple[str, str, float | None]:
        script = wrap_command(reporting_pid(command), env=env, timeout=timeout)
        return script + " </dev/null", command, timeout

    def _shell(self, identity) -> RemoteShell:
        shell = self._shells.get(identity)
        if identity in self._shell_errors:
            raise self._shell_errors.pop(identity)
        if shell is None or not shell.alive:
            sudo, sudo_user, su_user = identity
            password = self.host.data.sudo_password if sudo else None

            def start(command: str, prompt: str | None) -> str:
                return as_user(command, sudo=sudo, sudo_user=sudo_user, su_user=su_user, sudo_prompt=prompt)

            shell = RemoteShell(self._open_channel(), start, password, timeout=self.config.TIMEOUT)
            self._shells[identity] = shell
        return shell

    def _run_in_shell(self, identity, steps: list[tuple[str, str, float | None]]) -> list[CommandResult]:
        """Results of the steps run in the identity's shell, ending with the first that
        failed. A command that `timeout` stopped on the host is marked timed out."""
        try:
            results = self._shell(identity).run_many(steps, self.output_callback(), self.wait)
        except ShellDied as died:
            # The shell could not start (sudo refused) or the connection went away.
            if not self._answers():
                self.connected = False
                raise ConnectError(f"connection to {self.host.name} lost")
            results = died.earlier + [died.result]
        except (paramiko.SSHException, OSError, EOFError) as error:
            self.connected = False
            raise ConnectError(f"connection to {self.host.name} lost: {error}")
        for result, (_, _, timeout) in zip(results, steps):
            result.timed_out = result.timed_out or (bool(timeout) and result.exit_code in (124, 137))
        return results

    def _run_in_channel(
        self, command, sudo, sudo_user, su_user, env, timeout, stdin, track: bool = True
    ) -> CommandResult:
        """`track`: the command reports its pid, so that interrupt() can stop it."""
        password = self.host.data.sudo_password if sudo else None
        script = reporting_pid(command) if track else command
        wrapped = wrap_command(script, sudo, sudo_user, su_user, env, timeout, sudo_password=bool(password))
        if password:
            stdin = password.encode() + b"\n" + (stdin or b"")
        on_pid = None
        if track:
            flight = [(bool(sudo), sudo_user, su_user), None]

            def on_pid(pid: int) -> None:
                flight[1] = pid

        channel = self._open_channel()
        if track:
            self._channels.append(flight)
        stdout = OutputLines()
        stderr = OutputLines()
        callback = self.output_callback()
        timed_out = False
        try:
            channel.exec_command(wrapped)
            if stdin is not None:
                channel.sendall(stdin)
            channel.shutdown_write()
            reader = start_reader(channel.makefile_stderr("rb"), stderr, "stderr", callback, on_pid)

            def read_all() -> int:
                read_lines(channel.makefile("rb"), stdout, "stdout", callback, on_pid)  # PTY: one stream
                reader.join()
                return channel.recv_exit_status()

            work = gevent.spawn(read_all)
            try:
                finished = self.wait(work, timeout + GRACE if timeout else None)
            finally:
                # Closing the channel ends the reading (EOF); killing a greenlet
                # inside paramiko's locks would break them.
                channel.close()
            if finished:
                exit_code = work.value
                if exit_code == -1 and not self._answers():
                    # The channel ended without a status: the connection went away.
                    raise EOFError("no exit status")
            else:
                timed_out, exit_code = True, -1
        except (paramiko.SSHException, OSError, EOFError) as error:
            self.connected = False
            raise ConnectError(f"connection to {self.host.name} lost: {error}")
        finally:
            channel.close()
            if track:
                self._channels.remove(flight)
        timed_out = timed_out or (bool(timeout) and exit_code in (124, 137))
        return CommandResult(command, exit_code, stdout, stderr, timed_out=timed_out)

    # -- Ctrl-C -------------------------------------------------------------------

    def _check_interrupted(self) -> None:
        if self.interrupted:
            raise ConnectError(f"{self.host.name}: interrupted")

    def running(self) -> list[tuple[tuple, int | None]]:
        shells = [(identity, shell.pid) for identity, shell in self._shells.items() if shell.busy]
        return shells + [(identity, pid) for identity, pid in self._channels]

    def stop_tree(self, identity: tuple, pid: int) -> None:
        """Over a channel of its own, as the command's user (sudo's password on stdin)."""
        sudo, sudo_user, su_user = identity
        script = kill_tree_script(pid)
        self._run_in_channel(script, sudo, sudo_user, su_user, None, None, None, track=False)

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
                silence = SILENT_TIMEOUTS * interval
                raise ConnectError(f"{self.host.name} stopped answering (no reply within {silence:g}s)")

    def _answers(self) -> bool:
        """True when the server answers a keepalive within SILENT_TIMEOUTS x TIMEOUT.
        One is sent every TIMEOUT; a reply to any of them counts (they come in order)."""
        transport = self.client.get_transport() if self.client else None
        for _ in range(SILENT_TIMEOUTS):
            if transport is None or not transport.is_active():
                return False
            with gevent.Timeout(self.config.TIMEOUT, False):
                transport.global_request("keepalive@openssh.com", wait=True)
                # It returns early, without a reply, when the transport closes.
                return transport.is_active()
        return False

    def put_file(self, src, dest, sudo=False, sudo_user=None, su_user=None) -> CommandResult:
        if self.config.SSH_TRANSPORT == "shell":  # small through the shell, else SFTP
            return self.run_commands([FileUploadCommand(src, dest)], sudo, sudo_user, su_user)[0]
        return self._upload_sftp(src, dest, sudo, sudo_user, su_user)

    def _upload_sftp(self, src, dest, sudo, sudo_user, su_user) -> CommandResult:
        target = self.temp_path() if (sudo or su_user) else dest
        try:
            sftp = self._sftp_client()
            if isinstance(src, bytes):
                sftp.putfo(io.BytesIO(src), target)
            else:
                sftp.put(src, target)
        except (OSError, paramiko.SSHException, EOFError) as error:
            reason = getattr(error, "strerror", None) or error
            return CommandResult(f"upload to {target}", 1, [], [f"upload failed: {reason}"])
        if target != dest:
            return self.move_into_place(target, dest, sudo, sudo_user, su_user)
        return CommandResult(f"upload to {dest}", 0)

    def _sftp_client(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            self._sftp = self.client.open_sftp()
        return self._sftp

    def close(self) -> None:
        for shell in self._shells.values():
            shell.close()
        self._shells.clear()
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        if self.client is not None:
            self.client.close()
            self.client = None
        self.connected = False


# Uploads up to this size travel through the open shell; larger ones use SFTP.
SHELL_UPLOAD_MAX = 256 * 1024


def _read_small(path: str, limit: int) -> bytes | None:
    """The file's bytes when it is at most `limit` long, else None."""
    try:
        if os.path.getsize(path) > limit:
            return None
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _current_user() -> str:
    import getpass

    return getpass.getuser()
