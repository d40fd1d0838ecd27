"""The "shell" transport: commands and small uploads written into one remote shell per
identity (sshshell.RemoteShell), as many at a time as fit in one round trip."""

from __future__ import annotations

import logging

import paramiko

from pyinfra.api.command import FileUploadCommand, RunAs, wrap_command
from pyinfra.api.connectors.base import CommandResult
from pyinfra.api.connectors.sshshell import RemoteShell, ShellDied
from pyinfra.api.connectors.sshupload import NO_BASE64, SHELL_UPLOAD_MAX, shell_upload_step
from pyinfra.api.exceptions import ConnectError

logger = logging.getLogger("pyinfra")

# (script, label, timeout): one command or upload as the shell runs it.
Step = tuple[str, str, "float | None"]


class ShellRunner:
    """Mixed into SSHConnector: needs _open_channel, _identity, _key, _wants_tty,
    _answers, _upload, wait, output_callback, host, config, and _shells, _shell_errors
    and _shell_uploads (set up by the connector)."""

    def _run_batched(self, commands: list, run_as: RunAs) -> list[CommandResult]:
        """Consecutive commands and small uploads written together (up to
        SHELL_UPLOAD_MAX of script at a time); an upload the shell does not carry is
        streamed. The results end with the first that failed."""
        pending = list(commands)
        results: list[CommandResult] = []
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
                results.append(self._upload(command.src, command.dest, run_as))
            else:
                done = self._run_in_shell(run_as, steps)
                results.extend(done)
                last = sent[len(done) - 1]
                if isinstance(last, FileUploadCommand) and done[-1].exit_code == NO_BASE64:
                    self._shell_uploads = False  # no base64 on this host: streamed from now on
                    results[-1] = self._upload(last.src, last.dest, run_as)
                    pending[:0] = sent[len(done) :]
            if not results[-1].ok:
                break
        return results

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

    def _shell(self, key: tuple) -> RemoteShell:
        """The open shell of key (sudo, sudo_user, su_user, pty), started when needed."""
        shell = self._shells.get(key)
        if key in self._shell_errors:
            raise self._shell_errors.pop(key)
        if shell is None or not shell.alive:
            sudo, sudo_user, su_user, pty = key
            password = self.host.data.sudo_password if sudo else None
            start = self._identity(RunAs(sudo, sudo_user, su_user))
            shell = RemoteShell(self._open_channel(), start, password, timeout=self.config.TIMEOUT, pty=pty)
            self._shells[key] = shell
        return shell

    def _run_in_shell(self, run_as: RunAs, steps: list[Step]) -> list[CommandResult]:
        """Results of the steps run in run_as's shell, ending with the first that
        failed. A command that `timeout` stopped on the host is marked timed out."""
        key = self._key(run_as)
        logger.debug("[%s] one round trip: %d command(s)", self.host.name, len(steps))
        try:
            results = self._shell(key).run_many(steps, self.output_callback(), self.wait)
        except ShellDied as died:
            # The shell could not start (sudo refused) or the connection went away.
            if not self._answers():
                self.connected = False
                raise ConnectError(f"connection to {self.host.name} lost")
            if not died.earlier and self._wants_tty(key, died.result):
                return self._run_in_shell(run_as, steps)
            results = died.earlier + [died.result]
        except (paramiko.SSHException, OSError, EOFError) as error:
            self.connected = False
            raise ConnectError(f"connection to {self.host.name} lost: {error}")
        for result, (_, _, timeout) in zip(results, steps):
            result.timed_out = result.timed_out or (bool(timeout) and result.exit_code in (124, 137))
        return results
