"""`@local`: the controller itself, through subprocesses; no SSH."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import gevent

from pyinfra.api.command import LOGIN, RunAs, quote, wrap_command, write_file_command
from pyinfra.api.connectors.base import (
    GRACE,
    CommandResult,
    Connector,
    OutputLines,
    kill_tree_script,
    read_lines,
    start_reader,
)
from pyinfra.api.connectors.download import ShellDownload, write_local_file
from pyinfra.api.exceptions import ConnectError


class LocalConnector(ShellDownload, Connector):
    def __init__(self, host, config, on_output=None):
        super().__init__(host, config, on_output)
        # Commands in flight: pid of the shell running each -> identity.
        self._processes: dict[int, tuple] = {}

    def connect(self) -> None:
        self.connected = True

    def run_shell_command(
        self, command: str, run_as: RunAs = LOGIN, stdin: bytes | None = None
    ) -> CommandResult:
        if self.interrupted:
            raise ConnectError(f"{self.host.name}: interrupted")
        return self._run(command, run_as, stdin)

    def _run(self, command: str, run_as: RunAs, stdin: bytes | None, track: bool = True) -> CommandResult:
        """`track`: interrupt() can stop the command (the process tree of its shell)."""
        password = self.host.data.sudo_password if run_as.sudo else None
        wrapped = wrap_command(command, run_as, sudo_password=bool(password))
        if password:
            stdin = password.encode() + b"\n" + (stdin or b"")
        process = subprocess.Popen(
            ["sh", "-c", wrapped],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        if track:
            self._processes[process.pid] = run_as.identity
        try:
            return self._wait(process, command, run_as.timeout, stdin)
        finally:
            self._processes.pop(process.pid, None)

    def _wait(self, process, command, timeout, stdin) -> CommandResult:
        stdout = OutputLines()
        stderr = OutputLines()
        callback = self.output_callback()
        if stdin is not None:
            process.stdin.write(stdin)
        process.stdin.close()
        reader = start_reader(process.stderr, stderr, "stderr", callback)
        timed_out = False
        try:
            with gevent.Timeout(timeout + GRACE if timeout else None):
                read_lines(process.stdout, stdout, "stdout", callback)
                reader.join()
                exit_code = process.wait()
        except gevent.Timeout:
            timed_out = True
            os.killpg(process.pid, 9)
            exit_code = process.wait()
        timed_out = timed_out or (bool(timeout) and exit_code in (124, 137))
        return CommandResult(command, exit_code, stdout, stderr, timed_out=timed_out)

    def running(self) -> list[tuple[tuple, int | None]]:
        return [(identity, pid) for pid, identity in self._processes.items()]

    def stop_tree(self, identity: tuple, pid: int) -> None:
        """Through sudo/su as the command's user: a root command is not ours to signal."""
        self._run(kill_tree_script(pid), RunAs(*identity), None, track=False)

    def put_file(self, src: str | bytes, dest: str, run_as: RunAs = LOGIN) -> CommandResult:
        # Written as a command runs, but without its environment or timeout.
        run_as = RunAs(*run_as.identity)
        if not (run_as.sudo or run_as.su_user):
            try:
                if isinstance(src, bytes):
                    with open(dest, "wb") as handle:
                        handle.write(src)
                else:
                    shutil.copyfile(src, dest)
            except OSError as error:
                return CommandResult(f"upload to {dest}", 1, [], [f"upload failed: {error.strerror}"])
            return CommandResult(f"upload to {dest}", 0)
        # Written by a command run as the target user, so the file is theirs, as one
        # written over SSH is.
        try:
            content = src if isinstance(src, bytes) else open(src, "rb").read()
        except OSError as error:
            return CommandResult(f"upload to {dest}", 1, [], [f"upload failed: {error.strerror}"])
        if run_as.sudo and self.host.data.sudo_password:
            # sudo reads its password from stdin: the content comes from a copy only
            # the login user may read.
            fd, staged = tempfile.mkstemp(prefix="pyinfra-", dir=self.config.TEMP_DIR)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                script = write_file_command(dest, f"cat {quote(staged)}", len(content))
                result = self._run(script, run_as, None, track=False)
            finally:
                os.unlink(staged)
        else:
            script = write_file_command(dest, f"head -c {len(content)}", len(content))
            result = self._run(script, run_as, content, track=False)
        result.command = f"upload to {dest}"
        return result

    def get_file(self, src: str, dest: str, run_as: RunAs = LOGIN) -> CommandResult:
        """As the login user: the file itself is read; as another user, by their commands."""
        if RunAs(*run_as.identity) != LOGIN:
            return super().get_file(src, dest, run_as)
        label = f"download {src} -> {dest}"
        if not os.path.isfile(src):  # a FIFO would never end
            return CommandResult(label, 1, [], [f"download failed: {src}: no such regular file"])
        try:
            with open(src, "rb") as handle:
                content = handle.read()
        except OSError as error:
            return CommandResult(label, 1, [], [f"download failed: {src}: {error.strerror}"])
        return write_local_file(label, dest, content)
