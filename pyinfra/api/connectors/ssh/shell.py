"""The shell transport: one remote shell per identity (remote_shell.RemoteShell), kept
open for the run; consecutive commands and small uploads are written to it together,
as many at a time as fit in one round trip. What the shell does not carry (stdin for a
command, a large upload, a host without base64) goes over a channel of its own
(exec.ExecTransport), as does stopping a command in flight."""

from __future__ import annotations

import logging
from typing import Callable

import paramiko

from pyinfra.api.command import FileUploadCommand, Identity, RunAs, wrap_command
from pyinfra.api.connectors.base import CommandResult, ShellStep
from pyinfra.api.connectors.ssh.become import Become, ShellKey
from pyinfra.api.connectors.ssh.exec import ExecTransport
from pyinfra.api.connectors.ssh.remote_shell import RemoteShell
from pyinfra.api.connectors.ssh.session import Session
from pyinfra.api.connectors.ssh.upload import NO_BASE64, SHELL_UPLOAD_MAX, shell_upload_step
from pyinfra.api.exceptions import ConnectError, ShellDied

logger = logging.getLogger("pyinfra")

# (script, label, timeout): one command or upload as the shell runs it.
Step = tuple[str, str, "float | None"]


class ShellTransport:
    """Commands through one remote shell per identity (transport.Transport)."""

    def __init__(self, session: Session, become: Become, output_callback: Callable):
        self.session = session
        self.become = become
        self.output_callback = output_callback
        self.channels = ExecTransport(session, become, output_callback)
        # The open shells, by ShellKey (identity, pty).
        self._shells: dict[ShellKey, RemoteShell] = {}
        # Why a shell opened ahead of its first use could not start (sudo refused).
        self._shell_errors: dict[ShellKey, ShellDied] = {}
        # False once the host turned out to have no base64: uploads are streamed.
        self._shell_uploads = True

    def prepare(self, run_as: RunAs) -> None:
        """Open run_as's shell now, while other hosts are still connecting, rather than
        at the first fact. A shell that cannot start is reported where it is first
        used, as it would be without this."""
        key = self.become.key(run_as)
        try:
            self._shell(key)
        except ShellDied as died:
            self._shell_errors[key] = died
        except (paramiko.SSHException, OSError, EOFError) as error:
            raise self.session.lost(error)

    def run(self, commands: list, run_as: RunAs) -> list[CommandResult]:
        """Consecutive commands and small uploads written together (up to
        SHELL_UPLOAD_MAX of script at a time); an upload the shell does not carry is
        streamed. The results end with the first that failed."""
        pending = list(commands)
        results: list[CommandResult] = []
        try:
            self._run_pending(pending, results, run_as)
        except ConnectError as error:
            error.completed = results + error.completed
            raise
        return results

    def _run_pending(self, pending: list, results: list[CommandResult], run_as: RunAs) -> None:
        while pending:
            steps, sent, size = [], [], 0
            while pending:
                step = self._step(pending[0], run_as)
                if step is None or (steps and size + len(step[0]) > SHELL_UPLOAD_MAX):
                    break
                steps.append(step)
                sent.append(pending.pop(0))
                size += len(step[0])
            if not steps:  # an upload the shell does not carry
                command = pending.pop(0)
                results.append(self.channels.put(command.src, command.dest, run_as))
            else:
                done = self._run_in_shell(run_as, steps)
                results.extend(done)
                last = sent[len(done) - 1]
                if isinstance(last, FileUploadCommand) and done[-1].exit_code == NO_BASE64:
                    self._shell_uploads = False  # no base64 on this host: streamed from now on
                    results[-1] = self.channels.put(last.src, last.dest, run_as)
                    pending[:0] = sent[len(done) :]
            if not results[-1].ok:
                break

    def run_one(self, command: str, run_as: RunAs, stdin: bytes | None) -> CommandResult:
        if stdin is not None:
            return self.channels.run_one(command, run_as, stdin)
        return self._run_in_shell(run_as, [self._command_step(command, run_as)])[0]

    def put(self, src: str | bytes, dest: str, run_as: RunAs) -> CommandResult:
        """Small through the shell, else streamed."""
        return self.run([FileUploadCommand(src, dest)], run_as)[0]

    def running(self) -> list[tuple[Identity, int | ShellStep | None]]:
        shells = [
            (key.identity, ShellStep(shell.pid, shell.step) if shell.pid else None)
            for key, shell in self._shells.items()
            if shell.busy
        ]
        return shells + self.channels.running()

    def stop_tree(self, identity: Identity, target: int | ShellStep) -> None:
        self.channels.stop_tree(identity, target)

    def close(self) -> None:
        for shell in self._shells.values():
            shell.close()
        self._shells.clear()

    # -- steps ------------------------------------------------------------------------

    def _step(self, command, run_as: RunAs) -> Step | None:
        """The shell's step for a command or upload; None for an upload it does not carry."""
        if not isinstance(command, FileUploadCommand):
            return self._command_step(command.command, run_as)
        if not self._shell_uploads:
            return None
        return shell_upload_step(command.src, command.dest)

    @staticmethod
    def _command_step(command: str, run_as: RunAs) -> Step:
        # The shell runs as run_as's user already: only its env and timeout are added.
        # It told its own pid: what runs the step is its child (base.ShellStep).
        script = wrap_command(command, run_as.as_login())
        return script + " </dev/null", command, run_as.timeout

    def _shell(self, key: ShellKey) -> RemoteShell:
        """The open shell of `key`, started when needed."""
        shell = self._shells.get(key)
        if key in self._shell_errors:
            raise self._shell_errors.pop(key)
        if shell is None or not shell.alive:
            run_as = RunAs(*key.identity)
            shell = RemoteShell(
                self.session.open_channel(),
                self.become.starter(run_as),
                self.become.password_for(key.identity),
                timeout=self.session.config.TIMEOUT,
                pty=key.pty,
                on_banner=self.session.banner,
            )
            self._shells[key] = shell
        return shell

    def _run_in_shell(self, run_as: RunAs, steps: list[Step]) -> list[CommandResult]:
        """Results of the steps run in run_as's shell, ending with the first that
        failed. A command that `timeout` stopped on the host is marked timed out."""
        key = self.become.key(run_as)
        logger.debug("[%s] one round trip: %d command(s)", self.session.host.name, len(steps))
        try:
            results = self._shell(key).run_many(steps, self.output_callback(), self.session.wait)
        except ShellDied as died:
            # The shell could not start (sudo refused) or the connection went away.
            if not self.session.answers():
                self.session.connected = False
                raise ConnectError(f"connection to {self.session.host.name} lost", died.earlier)
            if not died.earlier and self.become.wants_tty(key, died.result):
                return self._run_in_shell(run_as, steps)
            results = died.earlier + [died.result]
        except (paramiko.SSHException, OSError, EOFError) as error:
            raise self.session.lost(error)
        for result, (_, _, timeout) in zip(results, steps):
            result.timed_out = result.timed_out or (bool(timeout) and result.exit_code in (124, 137))
        return results
