"""A channel's output as the remote shell reads it: lines, read in large chunks and
split here (paramiko's BufferedFile.readline walks each line in a Python loop, a fifth
of a command's CPU once). The pipe the chunks come from is paramiko_internals.GreenPipe
in a gevent-patched process."""

from __future__ import annotations

# What one recv asks for: a channel's window is 2 MiB; a chunk is split into lines here.
CHUNK = 64 * 1024


class LineReader:
    """`readline(limit)` and `read(size)` over a channel's recv or recv_stderr, as
    paramiko's file objects give them: a line keeps its newline, a longer line comes
    in pieces of `limit` bytes, and b"" is the end of the stream."""

    def __init__(self, recv):
        self._recv = recv
        self._buffer = bytearray()
        self._ended = False

    def _fill(self) -> bool:
        """Read one more chunk; False at the end of the stream."""
        if self._ended:
            return False
        data = self._recv(CHUNK)
        if not data:
            self._ended = True
            return False
        self._buffer += data
        return True

    def readline(self, limit: int) -> bytes:
        buffer = self._buffer
        start = 0
        while True:
            index = buffer.find(b"\n", start, limit)
            if index >= 0:
                size = index + 1
                break
            if len(buffer) >= limit:
                size = limit
                break
            start = len(buffer)
            if not self._fill():
                size = len(buffer)
                break
        line = bytes(buffer[:size])
        del buffer[:size]
        return line

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size and self._fill():
            pass
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out
