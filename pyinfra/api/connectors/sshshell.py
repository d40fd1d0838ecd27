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

from pyinfra.api.connectors.base import GRACE, MAX_KEPT_LINES, CommandResult


class ShellDied(Exception):
    """The shell ended before the command's marker: the result so far is attached."""

    def __init__(self, result: CommandResult):
        super().__init__(result.describe())
        self.result = result


class RemoteShell:
    def __init__(self, channel, start_command: str):
        self.channel = channel
        channel.exec_command(start_command)
        self.stdout = channel.makefile("rb")
        self.stderr = channel.makefile_stderr("rb")
        self.token = uuid.uuid4().hex
        self.count = 0
        self.alive = True
        self.lock = threading.Lock()

    def run(self, script: str, label: str, timeout: float | None, on_output) -> CommandResult:
        """Run `script` (shell text, its stdin already redirected) and wait for its marker."""
        with self.lock:
            self.count += 1
            marker = f"__pyinfra_{self.token}_{self.count}__"
            payload = f"{script}\nprintf '%s %s\\n' '{marker}' \"$?\"\nprintf '%s\\n' '{marker}' >&2\n"
            stdout: list[str] = []
            stderr: list[str] = []
            status: list[int] = []
            self.channel.sendall(payload.encode())
            reader = threading.Thread(
                target=self._read, args=(self.stderr, marker, stderr, None, "stderr", on_output)
            )
            reader.daemon = True
            reader.start()
            try:
                with gevent.Timeout(timeout + GRACE if timeout else None):
                    self._read(self.stdout, marker, stdout, status, "stdout", on_output)
                    reader.join()
            except gevent.Timeout:
                self.close()
                return CommandResult(label, -1, stdout, stderr, timed_out=True)
            if not status:
                self.alive = False
                code = self.channel.recv_exit_status() if self.channel.exit_status_ready() else -1
                raise ShellDied(CommandResult(label, code, stdout, stderr))
            return CommandResult(label, status[0], stdout, stderr)

    def _read(self, stream, marker: str, kept: list[str], status, name: str, on_output) -> None:
        marker_bytes = marker.encode()
        while True:
            raw = stream.readline()
            if not raw:
                return
            index = raw.find(marker_bytes)
            if index >= 0:
                # Output that did not end with a newline shares the marker's line.
                raw, tail = raw[:index], raw[index + len(marker_bytes) :]
                if status is not None:
                    try:
                        status.append(int(tail.strip() or b"-1"))
                    except ValueError:
                        status.append(-1)
                if not raw:
                    return
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if on_output:
                on_output(name, line)
            kept.append(line)
            if len(kept) > MAX_KEPT_LINES:
                del kept[: len(kept) - MAX_KEPT_LINES]
            if index >= 0:
                return

    def close(self) -> None:
        self.alive = False
        try:
            self.channel.close()
        except Exception:
            pass
