"""What the login shell prints before it runs our command is not the command's output.

sshd runs every command through the login user's shell, and many servers' start-up
files print (a banner in ~/.bashrc, which bash reads even for `ssh host command`; a
warning that the locale is missing). The command we send starts by writing
LOGIN_MARKER, itself, on stdout and stderr (once on a terminal: it has one stream);
what arrives before it on a stream is the login shell's, skipped (AfterLogin) and
logged at debug level, never taken for a fact's or a command's output. A stream that
ends without it is a command the login shell never ran (a start-up file that exits).

It is written by the login shell, before sudo or su run: what sudo says (a password
is required) is after it, and stays the command's.
"""

from __future__ import annotations

import uuid
from typing import Callable

# Unique to this process: no banner is taken for it.
LOGIN_MARKER = f"__pyinfra_login_{uuid.uuid4().hex}"
_MARKER = LOGIN_MARKER.encode()

# More than this before the marker is not a banner: the login shell never ran the
# command (it exited, or is not a shell), and what it printed is given as output.
MAX_BANNER = 1024 * 1024


def after_login(command: str, pty: bool = False) -> str:
    """The exec request running `command` (shell text for the login shell: POSIX or
    fish, which read this line alike) once the marker is written."""
    say = f"echo {LOGIN_MARKER}"
    if pty:
        return f"{say}; {command}"
    return f"{say}; {say} >&2; {command}"


class AfterLogin:
    """A stream (`readline(limit)`, `read(size)`, as paramiko's files and
    stream.LineReader have) less what came before the marker's line. `on_banner` gets
    what was skipped, when there was something. Without a marker (the stream ended, or
    MAX_BANNER came first), nothing is skipped."""

    def __init__(self, stream, on_banner: Callable[[bytes], None] | None = None):
        self._stream = stream
        self._on_banner = on_banner
        self._pending = b""
        self._started = False
        # True once the marker was read: the login shell ran the command.
        self.seen = False

    def _start(self, limit: int) -> None:
        self._started = True
        seen = bytearray()
        found = -1
        while len(seen) <= MAX_BANNER:
            piece = self._stream.readline(limit)
            if not piece:
                break
            start = max(0, len(seen) - len(_MARKER))
            seen += piece
            if found < 0:
                found = seen.find(_MARKER, start)
            if found >= 0 and seen.endswith(b"\n"):  # the marker's line is whole
                banner = bytes(seen[:found])
                if banner and self._on_banner is not None:
                    self._on_banner(banner)
                self.seen = True
                return
        self._pending = bytes(seen)

    def readline(self, limit: int) -> bytes:
        if not self._started:
            self._start(limit)
        if not self._pending:
            return self._stream.readline(limit)
        end = self._pending.find(b"\n", 0, limit)
        size = min(limit, len(self._pending)) if end < 0 else end + 1
        line, self._pending = self._pending[:size], self._pending[size:]
        return line

    def read(self, size: int) -> bytes:
        if not self._started:
            self._start(64 * 1024)
        data, self._pending = self._pending[:size], self._pending[size:]
        if len(data) < size:
            data += self._stream.read(size - len(data))
        return data
