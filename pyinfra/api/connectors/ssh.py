"""SSH connector: paramiko, one exec channel per command."""

from __future__ import annotations

import io
import os
import socket
import threading

import gevent
import paramiko

from pyinfra.api.connectors.base import CommandResult, Connector, read_lines, start_reader
from pyinfra.api.exceptions import ConnectError

_known_hosts_lock = threading.Lock()


class HostKeyChanged(ConnectError):
    pass


class AcceptNewPolicy(paramiko.MissingHostKeyPolicy):
    """Like OpenSSH's StrictHostKeyChecking=accept-new: unknown hosts are trusted and
    remembered; a changed key is refused by paramiko before this policy is asked."""

    def __init__(self, path: str):
        self.path = path

    def missing_host_key(self, client, hostname, key):
        entry = f"{hostname} {key.get_name()} {key.get_base64()}\n"
        with _known_hosts_lock:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            with open(self.path, "a") as handle:
                handle.write(entry)
        client.get_host_keys().add(hostname, key.get_name(), key)


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
        if os.path.exists(known_hosts):
            try:
                client.load_host_keys(known_hosts)
            except Exception as error:  # a corrupt line: say which file
                raise ConnectError(f"cannot read known_hosts file {known_hosts}: {error}")
        client.set_missing_host_key_policy(AcceptNewPolicy(known_hosts))
        timeout = self.config.TIMEOUT
        try:
            with gevent.Timeout(
                timeout, ConnectError(f"no SSH answer within {timeout}s ({where})")
            ):
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
        except (OSError, paramiko.SSHException, EOFError) as error:
            client.close()
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            raise ConnectError(f"cannot connect to {where}: {reason}")
        transport = client.get_transport()
        transport.set_keepalive(30)
        self.client = client
        self.connected = True

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
        wrapped = self.wrap(command, sudo=sudo, sudo_user=sudo_user, su_user=su_user, env=env)
        channel = self._open_channel()
        stdout: list[str] = []
        stderr: list[str] = []
        callback = self.output_callback()
        timed_out = False
        try:
            channel.exec_command(wrapped)
            if stdin is not None:
                channel.sendall(stdin)
            channel.shutdown_write()
            reader = start_reader(channel.makefile_stderr("rb"), stderr, "stderr", callback)
            try:
                with gevent.Timeout(timeout):
                    read_lines(channel.makefile("rb"), stdout, "stdout", callback)
                    reader.join()
                    exit_code = channel.recv_exit_status()
            except gevent.Timeout:
                timed_out = True
                exit_code = -1
        except (paramiko.SSHException, OSError, EOFError) as error:
            self.connected = False
            raise ConnectError(f"connection to {self.host.name} lost: {error}")
        finally:
            channel.close()
        return CommandResult(command, exit_code, stdout, stderr, timed_out=timed_out)

    def put_file(self, src, dest, sudo=False, sudo_user=None, su_user=None) -> CommandResult:
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
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        if self.client is not None:
            self.client.close()
            self.client = None
        self.connected = False


def _current_user() -> str:
    import getpass

    return getpass.getuser()
