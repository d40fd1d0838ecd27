"""A channel's output as the remote shell reads it: lines, with as little Python work
per SSH packet as possible.

A command in the shell costs a few packets (its output, its marker on each stream), and
each packet went through paramiko's BufferedPipe (a lock and a condition, which are
Python code once gevent patches threading) and then BufferedFile.readline (a Python
loop per line). Those were most of our CPU per command. Here a patched process gets a
pipe built on one gevent event, and every process reads a stream in large chunks and
splits the lines itself.
"""

from __future__ import annotations

import time

import gevent.event
from gevent import monkey
from paramiko.buffered_pipe import BufferedPipe, PipeTimeout

# What one recv asks for: a channel's window is 2 MiB; a chunk is split into lines here.
CHUNK = 64 * 1024


class GreenPipe(BufferedPipe):
    """paramiko's BufferedPipe for a process where threads are greenlets: the transport
    feeds it from a greenlet of the same OS thread, so nothing runs between two Python
    statements here but this code, and a gevent event is all the waiting needs."""

    def __init__(self):  # no super(): its lock and condition are what this saves
        self._buffer = bytearray()
        self._closed = False
        self._event = None
        self._ready = gevent.event.Event()

    def set_event(self, event):
        self._event = event
        if self._closed or self._buffer:
            event.set()
        else:
            event.clear()

    def feed(self, data):
        self._buffer += data
        self._ready.set()
        if self._event is not None:
            self._event.set()

    def read_ready(self):
        return bool(self._buffer)

    def read(self, nbytes, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._buffer:
            if self._closed:
                return b""
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise PipeTimeout()
            self._ready.clear()
            self._ready.wait(remaining)
        out = bytes(self._buffer[:nbytes])
        del self._buffer[:nbytes]  # a bytearray drops its head without copying the rest
        if not self._buffer and self._event is not None and not self._closed:
            self._event.clear()
        return out

    def empty(self):
        out = bytes(self._buffer)
        self._buffer.clear()
        if self._event is not None and not self._closed:
            self._event.clear()
        return out

    def close(self):
        self._closed = True
        self._ready.set()
        if self._event is not None:
            self._event.set()

    def __len__(self):
        return len(self._buffer)


def use_green_pipes(channel) -> None:
    """Give a channel that has received nothing yet GreenPipes, when threading is patched
    (the CLI). Unpatched (the API from threads), paramiko's own pipes stay."""
    if monkey.is_module_patched("threading"):
        channel.in_buffer = GreenPipe()
        channel.in_stderr_buffer = GreenPipe()


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
