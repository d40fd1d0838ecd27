"""The narrow interface every connector implements."""

from __future__ import annotations

import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import IO, Callable

from pyinfra.api.command import FileUploadCommand, quote

OutputCallback = Callable[[str, str], None]

# At most this much of a command's output is kept per stream (its last lines); the
# rest is shown when asked (-v) and dropped, so a command printing gigabytes cannot
# exhaust the controller's memory. Longer lines are cut into pieces of MAX_LINE.
MAX_KEPT_CHARS = 8 * 1024 * 1024
MAX_LINE = 64 * 1024

# Seconds allowed beyond a command's own timeout before the controller gives up on it
# (the command itself is stopped on the host by `timeout`, see wrap_command).
GRACE = 5


@dataclass
class CommandResult:
    """What one command did: its exit status and output (decoded, lines)."""

    command: str
    exit_code: int
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def describe(self, max_lines: int = 20) -> str:
        """A failure as a person reads it: command, exit status, last output."""
        if self.timed_out:
            status = "timed out"
        else:
            status = f"exit status {self.exit_code}"
        lines = [f"command failed ({status}): {self.command}"]
        output = self.stderr + self.stdout if self.stderr else self.stdout
        if output:
            shown = output[-max_lines:]
            if len(output) > max_lines:
                lines.append(f"  ... {len(output) - max_lines} more line(s)")
            lines.extend(f"  {line}" for line in shown)
        return "\n".join(lines)


class OutputLines(list):
    """The lines of one output stream, keeping a bounded tail; `dropped` counts the
    lines let go."""

    def __init__(self):
        super().__init__()
        self.chars = 0
        self.dropped = 0

    def add(self, line: str) -> None:
        self.append(line)
        self.chars += len(line) + 1
        if self.chars > MAX_KEPT_CHARS and len(self) > 1:
            # Drop a quarter at a time: one slice deletion instead of one per line.
            count, freed = 0, 0
            while count < len(self) - 1 and self.chars - freed > MAX_KEPT_CHARS * 3 // 4:
                freed += len(self[count]) + 1
                count += 1
            del self[:count]
            self.chars -= freed
            self.dropped += count


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").removesuffix("\n")


def read_lines(stream: IO[bytes], kept: OutputLines, name: str, on_output: OutputCallback | None):
    """Read a byte stream to its end, decoding with replacement, keeping a bounded tail."""
    while True:
        raw = stream.readline(MAX_LINE)
        if not raw:
            return
        line = decode(raw)
        if on_output:
            on_output(name, line)
        kept.add(line)


def start_reader(stream: IO[bytes], kept: list[str], name: str, on_output) -> threading.Thread:
    # A thread (a greenlet once the CLI has patched) so stdout and stderr drain
    # together: reading one to its end first could stall on the other's full window.
    thread = threading.Thread(target=read_lines, args=(stream, kept, name, on_output))
    thread.daemon = True
    thread.start()
    return thread


class Connector(ABC):
    """connect, run a shell command, put a file, close."""

    def __init__(self, host, config, on_output: Callable | None = None):
        self.host = host
        self.config = config
        self.on_output = on_output
        self.connected = False

    @abstractmethod
    def connect(self) -> None: ...

    def prepare(self) -> None:
        """Called right after connect() when nothing else waits to connect: get ready
        for the first command (the SSH connector opens its shell). Raises ConnectError."""

    @abstractmethod
    def run_shell_command(
        self,
        command: str,
        sudo: bool = False,
        sudo_user: str | None = None,
        su_user: str | None = None,
        env: dict | None = None,
        timeout: float | None = None,
        stdin: bytes | None = None,
        get_pty: bool = False,
    ) -> CommandResult: ...

    @abstractmethod
    def put_file(
        self,
        src: str | bytes,
        dest: str,
        sudo: bool = False,
        sudo_user: str | None = None,
        su_user: str | None = None,
        get_pty: bool = False,
    ) -> CommandResult: ...

    def run_commands(
        self,
        commands: list,
        sudo: bool = False,
        sudo_user: str | None = None,
        su_user: str | None = None,
        env: dict | None = None,
        timeout: float | None = None,
        get_pty: bool = False,
    ) -> list[CommandResult]:
        """Run shell commands and uploads (StringCommand, FileUploadCommand) in order,
        stopping at the first that fails: the results end with that one. A connector
        may send them together (the SSH shell does); this one runs them one by one.
        `get_pty` gives them a terminal where the connector has one to give."""
        results = []
        for command in commands:
            if isinstance(command, FileUploadCommand):
                result = self.put_file(command.src, command.dest, sudo, sudo_user, su_user, get_pty=get_pty)
            else:
                result = self.run_shell_command(
                    command.command,
                    sudo=sudo,
                    sudo_user=sudo_user,
                    su_user=su_user,
                    env=env,
                    timeout=timeout,
                    get_pty=get_pty,
                )
            results.append(result)
            if not result.ok:
                break
        return results

    def close(self) -> None:
        self.connected = False

    def output_callback(self) -> OutputCallback | None:
        if self.on_output is None:
            return None
        host = self.host

        def callback(stream: str, line: str) -> None:
            self.on_output(host, stream, line)

        return callback

    def temp_path(self) -> str:
        return f"{self.config.TEMP_DIR.rstrip('/')}/pyinfra-{uuid.uuid4().hex}"

    def move_into_place(self, temp: str, dest: str, sudo, sudo_user, su_user) -> CommandResult:
        """Move an upload that landed in TEMP_DIR to `dest` as the sudo/su user."""
        command = f"mv -f {quote(temp)} {quote(dest)}"
        return self.run_shell_command(command, sudo=sudo, sudo_user=sudo_user, su_user=su_user)
