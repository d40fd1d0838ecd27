"""One remote POSIX shell per host and identity, kept open for the whole run.

Opening an SSH session costs tens of milliseconds on the server; one more command in
an open shell costs well under one. Each command is written to the shell's stdin and
followed by a marker unique to the connection, which carries the command's exit status
on stdout and closes its stderr, so every command still gets its own status, stdout
and stderr.
"""

from __future__ import annotations

import threading
import uuid

import gevent
from gevent import monkey

from pyinfra.api.command import quote
from pyinfra.api.connectors.base import (
    GRACE,
    MAX_LINE,
    CommandResult,
    OutputLines,
    decode,
    parse_pid_line,
    reporting_pid,
)
from pyinfra.api.connectors.ssh.banner import AfterLogin, after_login
from pyinfra.api.connectors.ssh.become import start_process
from pyinfra.api.connectors.ssh.paramiko_internals import start_command, use_green_pipes
from pyinfra.api.connectors.ssh.stream import LineReader
from pyinfra.api.exceptions import ConnectError, ShellDied

# The most script the shell's exec request carries (Linux takes up to 128 KiB in one
# argument; quoting may double a script made of quotes). More is written on stdin.
INLINE_MAX = 48 * 1024

# What a step's marker carries instead of an exit status when the shell skipped it.
SKIPPED = "skipped"


def start_reader(function, *args):
    """Run `function(*args)` beside the caller, returning what `.join()` waits on: a
    greenlet in a gevent-patched process (the CLI: a thread there is a greenlet with
    a thread's bookkeeping, at every round trip), else a thread (stderr must be read
    while stdout blocks, or the channel's window fills and both stop)."""
    if monkey.is_module_patched("threading"):
        return gevent.spawn(function, *args)
    reader = threading.Thread(target=function, args=args)
    reader.daemon = True
    reader.start()
    return reader


class RemoteShell:
    """`identity(command, prompt)` wraps the shell's start for sudo/su; with
    `sudo_password`, sudo is given it when (and only when) it asks. With `pty` the shell
    has a terminal (sudo's requiretty, or the get_pty argument): a command's stderr then
    comes with its stdout."""

    def __init__(
        self,
        channel,
        identity,
        sudo_password: str | None = None,
        timeout: float = 10,
        pty=False,
        on_banner=None,
    ):
        self.channel = channel
        use_green_pipes(channel)
        self.token = uuid.uuid4().hex
        self.count = 0
        self.alive = True
        self.pty = pty
        self.lock = threading.Lock()
        # The shell's pid, as it reports it (a PID_MARKER line) with its first steps;
        # what runs a step is its child (Ctrl-C: base.ShellStep).
        self.pid: int | None = None
        # The number of the step whose output is being read.
        self.step = 0
        # Started with the first steps written into its exec request (run_many).
        self._identity = None
        if sudo_password is None and not pty:
            self._identity = identity
            self.stdout = AfterLogin(LineReader(channel.recv), on_banner)
            self.stderr = AfterLogin(LineReader(channel.recv_stderr), on_banner)
            return
        # On a terminal sh would be interactive (prompts, job control): a pipe feeds it.
        command = "cat | sh" if pty else "exec sh"
        self.stdout, self.stderr = start_process(
            channel, identity, command, sudo_password, pty, timeout, on_banner
        )

    def run_many(self, steps: list[tuple[str, str, float | None]], on_output, wait) -> list[CommandResult]:
        """Run each (script, label, timeout) in order, all written at once: one round trip
        for them all. A script is shell text with its stdin already redirected. The shell
        itself skips the steps after the first that fails, so the results end with that
        one. ShellDied carries the results before it (`earlier`). `wait(greenlet,
        seconds)` waits for the reading to end (False: out of time) and raises when the
        connection stops answering meanwhile."""
        with self.lock:
            markers = []
            parts = ["__pyinfra_go=1"]
            if self.count == 0:  # the shell's first steps: it tells its pid first
                parts.insert(0, reporting_pid(":"))
            for script, _, _ in steps:
                self.count += 1
                marker = f"__pyinfra_{self.token}_{self.count}__"
                markers.append(marker)
                # On a terminal stderr is stdout: one marker ends both.
                stderr_marker = "" if self.pty else f"printf '%s\\n' '{marker}' >&2\n"
                parts.append(
                    f'if [ "$__pyinfra_go" = 1 ]; then\n{script}\n__pyinfra_rc=$?\n'
                    f"else __pyinfra_rc={SKIPPED}; fi\n"
                    f"printf '%s %s\\n' '{marker}' \"$__pyinfra_rc\"\n{stderr_marker}"
                    f'[ "$__pyinfra_rc" = 0 ] || __pyinfra_go=0'
                )
            self._send("\n".join(parts) + "\n", steps[0][1])
            results: list[CommandResult] = []
            for (_, label, timeout), marker in zip(steps, markers):
                self.step += 1
                try:
                    result = self._collect(marker, label, timeout, on_output, wait)
                except ShellDied as died:
                    died.earlier = results
                    raise
                except ConnectError as error:  # stopped answering: these ended before
                    error.completed = results + error.completed
                    raise
                if result is None:  # skipped: read only to keep the stream in step
                    continue
                results.append(result)
                if result.timed_out:  # the shell was closed
                    break
            return results

    def _send(self, payload: str, label: str) -> None:
        if self._identity is not None:
            self._start(payload)
            return
        try:
            self.channel.sendall(payload.encode("utf-8", "surrogateescape"))
        except OSError:  # paramiko's "Socket is closed": the shell has ended
            if not (self.channel.closed or self.channel.exit_status_ready()):
                raise
            self.alive = False
            stdout, stderr = OutputLines(), OutputLines()
            for stream, kept in ((self.stdout, stdout), (self.stderr, stderr)):
                for line in stream.read(64 * 1024).splitlines():
                    kept.add(decode(line))
            raise ShellDied(CommandResult(label, self.channel.recv_exit_status(), stdout, stderr))

    def _start(self, payload: str) -> None:
        """Start the shell with `payload` as the first thing it runs, in the exec
        request itself: OpenSSH opens a session's window only once its command runs, so
        anything written before that waits a round trip. The shell then reads stdin."""
        identity, self._identity = self._identity, None
        if len(payload) > INLINE_MAX:
            start_command(self.channel, after_login(identity("sh", None)))
            self._send(payload, "")
            return
        start_command(self.channel, after_login(identity(f"sh -c {quote(payload + 'exec sh')}", None)))

    def _collect(self, marker: str, label: str, timeout, on_output, wait) -> CommandResult | None:
        """One step's result, read up to its marker; None when the shell skipped it."""
        stdout = OutputLines()
        stderr = OutputLines()
        status: list[str] = []
        reader = None
        if not self.pty:
            reader = start_reader(self._read, self.stderr, marker, stderr, None, "stderr", on_output)

        def read_all() -> None:
            self._read(self.stdout, marker, stdout, status, "stdout", on_output)
            if reader is not None:
                reader.join()

        work = gevent.spawn(read_all)
        try:
            finished = wait(work, timeout + GRACE if timeout else None)
        except BaseException:
            self.close()  # the reading ends on EOF (no kill: see exec.py _finish)
            raise
        if not finished:
            self.close()
            return CommandResult(label, -1, stdout, stderr, timed_out=True)
        if not status:
            self.alive = False
            code = self.channel.recv_exit_status() if self.channel.exit_status_ready() else -1
            if not getattr(self.stdout, "seen", True):
                stderr.add("the login shell ended before it ran the command")
            # The step never finished, whatever status the shell ended with.
            raise ShellDied(CommandResult(label, code or 1, stdout, stderr))
        if status[0] == SKIPPED:
            return None
        try:
            code = int(status[0])
        except ValueError:
            code = -1
        return CommandResult(label, code, stdout, stderr)

    def _read(self, stream, marker: str, kept: OutputLines, status, name: str, on_output) -> None:
        """Read lines up to the marker. A line longer than MAX_LINE arrives in pieces;
        the end of a piece is held back while it could be the start of the marker."""
        marker_bytes = marker.encode()
        carry = b""
        while True:
            chunk = stream.readline(MAX_LINE)
            if not chunk:
                if carry:
                    self._emit(carry, kept, name, on_output)
                return
            data, carry = carry + chunk, b""
            # The shell reports its pid before its first step: on stderr, or on the
            # one stream a PTY makes of both.
            pid = parse_pid_line(data)
            if pid is not None:
                self.pid = pid
                continue
            index = data.find(marker_bytes)
            if index >= 0:
                # Output that did not end with a newline shares the marker's line.
                before, tail = data[:index], data[index + len(marker_bytes) :]
                if status is not None:
                    status.append(tail.strip().decode(errors="replace"))
                if before:
                    self._emit(before, kept, name, on_output)
                return
            if not data.endswith(b"\n"):
                keep = min(len(data), len(marker_bytes))
                data, carry = data[:-keep], data[-keep:]
                if not data:
                    continue
            self._emit(data, kept, name, on_output)

    @property
    def busy(self) -> bool:
        """True while steps are in flight."""
        return self.lock.locked()

    @staticmethod
    def _emit(raw: bytes, kept: OutputLines, name: str, on_output) -> None:
        line = decode(raw)
        if on_output:
            on_output(name, line)
        kept.add(line)

    def close(self) -> None:
        self.alive = False
        try:
            self.channel.close()
        except Exception:
            pass
