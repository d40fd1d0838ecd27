"""The SSH connector, put together from its parts: a Session (dial, login, channels,
keepalive), a Become (sudo/su, the password handshake, requiretty -> PTY) and one
Transport for the run (the shell transport by default, the exec transport with
SSH_TRANSPORT = "exec"). The connector itself only forwards, and stops new commands
after an interrupt."""

from __future__ import annotations

from pyinfra.api.command import LOGIN, Identity, RunAs
from pyinfra.api.connectors.base import CommandResult, Connector, ShellStep
from pyinfra.api.connectors.download import ShellDownload
from pyinfra.api.connectors.ssh.become import Become
from pyinfra.api.connectors.ssh.dial import Dial
from pyinfra.api.connectors.ssh.exec import ExecTransport
from pyinfra.api.connectors.ssh.session import Session
from pyinfra.api.connectors.ssh.shell import ShellTransport
from pyinfra.api.connectors.ssh.transport import Transport
from pyinfra.api.exceptions import ConnectError


class SSHConnector(ShellDownload, Connector):
    """files.get reads through the connector's own commands (download.py)."""

    def __init__(self, host, config, on_output=None):
        super().__init__(host, config, on_output)
        self.session = Session(host, config)
        self.become = Become(host.name, host.data.sudo_password)
        kind = ShellTransport if config.SSH_TRANSPORT == "shell" else ExecTransport
        self.transport: Transport = kind(self.session, self.become, self.output_callback)

    @property
    def connected(self) -> bool:
        return self.session.connected

    @connected.setter
    def connected(self, value: bool) -> None:
        # Connector.__init__ sets it; the session knows.
        if hasattr(self, "session"):
            self.session.connected = value

    def connect(self, dial: Dial | None = None) -> None:
        """Log in (`dial`: the host's TCP connection, started already: dial.py)."""
        self.session.connect(dial)

    def connect_retries(self) -> int:
        return self.session.connect_retries()

    def prepare(self) -> None:
        """Open what facts and commands use unless told otherwise now, while other
        hosts are still connecting (the shell of the config's sudo/su user)."""
        config = self.config
        sudo = bool(config.SUDO)
        run_as = RunAs(sudo, config.SUDO_USER if sudo else None, config.SU_USER)
        try:
            self.transport.prepare(run_as)
        except ConnectError:
            self.close()
            raise

    def run_shell_command(
        self, command: str, run_as: RunAs = LOGIN, stdin: bytes | None = None
    ) -> CommandResult:
        self._check_interrupted()
        return self.transport.run_one(command, run_as, stdin)

    def run_commands(self, commands: list, run_as: RunAs = LOGIN) -> list[CommandResult]:
        """Through the shell, consecutive commands and small uploads are written together
        (shell.py): one round trip for them all; over exec, one channel each."""
        self._check_interrupted()
        return self.transport.run(commands, run_as)

    def put_file(self, src: str | bytes, dest: str, run_as: RunAs = LOGIN) -> CommandResult:
        return self.transport.put(src, dest, run_as)

    # -- Ctrl-C -------------------------------------------------------------------

    def _check_interrupted(self) -> None:
        if self.interrupted:
            raise ConnectError(f"{self.host.name}: interrupted")

    def running(self) -> list[tuple[Identity, int | ShellStep | None]]:
        return self.transport.running()

    def stop_tree(self, identity: Identity, target: int | ShellStep) -> None:
        self.transport.stop_tree(identity, target)

    def close(self) -> None:
        self.transport.close()
        self.session.close()
