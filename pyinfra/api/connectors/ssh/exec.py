"""The exec transport: one SSH exec channel per command or upload. The shell transport
uses it too, for uploads the shell does not carry (large files, hosts without
base64) and to stop a command in flight.

An upload is streamed into a command run as the operation's user (`head -c SIZE`
writing a new file), so it belongs to that user, as a file the shell writes does:
nothing is staged under the login user and moved, nothing is left behind in TEMP_DIR.
"""

from __future__ import annotations

import os
from typing import Callable

import gevent
import paramiko

from pyinfra.api.command import FileUploadCommand, Identity, RunAs, wrap_command, write_file_command
from pyinfra.api.connectors.base import (
    GRACE,
    CommandResult,
    OutputLines,
    ShellStep,
    kill_tree_script,
    read_lines,
    reporting_pid,
    start_reader,
)
from pyinfra.api.connectors.ssh.banner import AfterLogin, after_login
from pyinfra.api.connectors.ssh.become import Become
from pyinfra.api.connectors.ssh.session import Session
from pyinfra.api.exceptions import ConnectError, ShellDied

CHUNK = 64 * 1024


def close_quietly(channel) -> None:
    """Close a channel whose connection may be gone already: closing then sends on a
    dead transport (EOFError), and what matters is the error that led here."""
    try:
        channel.close()
    except (paramiko.SSHException, OSError, EOFError):
        pass


class ExecTransport:
    """Commands and uploads over channels of their own (transport.Transport)."""

    def __init__(self, session: Session, become: Become, output_callback: Callable):
        self.session = session
        self.become = become
        self.output_callback = output_callback
        # Commands in flight: [identity, reported pid].
        self._channels: list[list] = []

    def prepare(self, run_as: RunAs) -> None:
        pass

    def run(self, commands: list, run_as: RunAs) -> list[CommandResult]:
        results = []
        for command in commands:
            try:
                if isinstance(command, FileUploadCommand):
                    result = self.put(command.src, command.dest, run_as)
                else:
                    result = self.run_one(command.command, run_as, None)
            except ConnectError as error:  # gone: those before it ended
                error.completed = results + error.completed
                raise
            results.append(result)
            if not result.ok:
                break
        return results

    def run_one(self, command: str, run_as: RunAs, stdin: bytes | None) -> CommandResult:
        key = self.become.key(run_as)
        result = self._run_in_channel(command, run_as, stdin, pty=key.pty)
        if self.become.wants_tty(key, result):
            result = self._run_in_channel(command, run_as, stdin, pty=True)
        return result

    def put(self, src: str | bytes, dest: str, run_as: RunAs) -> CommandResult:
        key = self.become.key(run_as)
        try:
            result = self._upload_stream(src, dest, run_as, key.pty)
            if self.become.wants_tty(key, result):
                result = self._upload_stream(src, dest, run_as, True)
        except OSError as error:  # the local file
            return CommandResult(f"upload to {dest}", 1, [], [f"upload failed: {error.strerror or error}"])
        return result

    def running(self) -> list[tuple[Identity, int | ShellStep | None]]:
        return [(identity, pid) for identity, pid in self._channels]

    def stop_tree(self, identity: Identity, target: int | ShellStep) -> None:
        """Over a channel of its own, as the command's user (sudo's password on stdin,
        through a PTY where sudo wants one)."""
        run_as = RunAs(*identity)
        if isinstance(target, ShellStep):
            script = kill_tree_script(target.shell, keep_root=True)
        else:
            script = kill_tree_script(target)
        self._run_in_channel(script, run_as, None, pty=self.become.key(run_as).pty, track=False)

    def close(self) -> None:
        pass

    def _run_in_channel(
        self, command: str, run_as: RunAs, stdin: bytes | None, pty: bool = False, track: bool = True
    ) -> CommandResult:
        """`track`: the command reports its pid, so that interrupt() can stop it."""
        if not track:
            return self._run_channel(command, command, run_as, stdin, pty)
        flight = [run_as.identity, None]

        def on_pid(pid: int) -> None:
            flight[1] = pid

        self._channels.append(flight)
        try:
            script = reporting_pid(command)
            return self._run_channel(command, script, run_as, stdin, pty, on_pid)
        finally:
            self._channels.remove(flight)

    def _run_channel(self, label, command, run_as: RunAs, stdin, pty, on_pid=None) -> CommandResult:
        password = self.become.password_for(run_as.identity)
        if pty:
            # Through the start-up handshake: sudo's password is sent only when asked,
            # and only once nothing echoes it.
            script = "exec " + wrap_command(command, run_as.as_login()) + " </dev/null"
            return self._exchange(
                label, run_as, script, None, pty=True, timeout=run_as.timeout, on_pid=on_pid
            )
        wrapped = wrap_command(command, run_as, sudo_password=bool(password))
        if password:
            stdin = password.encode() + b"\n" + (stdin or b"")
        channel = self.session.open_channel()
        try:
            channel.exec_command(after_login(wrapped).encode("utf-8", "surrogateescape"))
        except (paramiko.SSHException, OSError, EOFError) as error:
            close_quietly(channel)
            raise self.session.lost(error)
        if stdin is not None:
            channel.sendall(stdin)
        channel.shutdown_write()
        banner = self.session.banner
        stdout = AfterLogin(channel.makefile("rb"), banner)
        stderr = AfterLogin(channel.makefile_stderr("rb"), banner)
        result = self._finish(channel, label, stdout, stderr, run_as.timeout, on_pid)
        if not stdout.seen and not result.timed_out:
            # Whatever its exit status says, the command did not run.
            result.exit_code = result.exit_code or 1
            result.stderr.add("the login shell ended before it ran the command")
        return result

    def _upload_stream(self, src, dest: str, run_as: RunAs, pty: bool) -> CommandResult:
        """Write `src` (a local path or bytes) to a new file `dest` as run_as's user."""
        size = len(src) if isinstance(src, bytes) else os.path.getsize(src)
        script = write_file_command(dest, f"head -c {size}", size)
        return self._exchange(f"upload to {dest}", run_as, script, src, pty=pty, timeout=None)

    def _exchange(self, label, run_as: RunAs, script, src, pty, timeout, on_pid=None) -> CommandResult:
        """Start `script` as run_as's user (sudo's password sent when asked), send
        `src`'s bytes when given, and collect the result."""
        channel = self.session.open_channel()
        try:
            stdout, stderr = self.become.start(
                channel, run_as, script, pty, self.session.config.TIMEOUT, self.session.banner
            )
        except ShellDied as died:
            if not self.session.answers():
                raise self.session.lost("no answer")
            died.result.command = label
            return died.result
        except (paramiko.SSHException, OSError, EOFError) as error:
            close_quietly(channel)
            raise self.session.lost(error)
        if src is not None:
            try:
                self._send_content(channel, src)
            except (OSError, EOFError) as error:
                if not channel.closed and not channel.exit_status_ready():
                    close_quietly(channel)
                    raise self.session.lost(error)
            except BaseException:
                close_quietly(channel)
                raise
        if not pty:
            channel.shutdown_write()
        return self._finish(channel, label, stdout, stderr, timeout, on_pid)

    @staticmethod
    def _send_content(channel, src) -> None:
        if isinstance(src, bytes):
            channel.sendall(src)
            return
        with open(src, "rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                channel.sendall(block)

    def _finish(self, channel, label, stdout_file, stderr_file, timeout, on_pid=None) -> CommandResult:
        """Read both streams to their end and the exit status; the command is stopped
        after `timeout` (+ GRACE) seconds. `on_pid` gets the pid the command reports
        (on either stream: a PTY merges them)."""
        stdout = OutputLines()
        stderr = OutputLines()
        callback = self.output_callback()
        timed_out = False
        try:
            reader = start_reader(stderr_file, stderr, "stderr", callback, on_pid)

            def read_all() -> int:
                read_lines(stdout_file, stdout, "stdout", callback, on_pid)
                reader.join()
                return channel.recv_exit_status()

            work = gevent.spawn(read_all)
            try:
                finished = self.session.wait(work, timeout + GRACE if timeout else None)
            finally:
                # Closing the channel ends the reading (EOF); killing a greenlet
                # inside paramiko's locks would break them.
                channel.close()
            if finished:
                exit_code = work.value
                if exit_code == -1 and not self.session.answers():
                    # The channel ended without a status: the connection went away.
                    raise EOFError("no exit status")
            else:
                timed_out, exit_code = True, -1
        except (paramiko.SSHException, OSError, EOFError) as error:
            raise self.session.lost(error)
        finally:
            close_quietly(channel)
        timed_out = timed_out or (bool(timeout) and exit_code in (124, 137))
        return CommandResult(label, exit_code, stdout, stderr, timed_out=timed_out)
