"""Every place the SSH connector reaches into paramiko's or gevent's internals, for
speed or for a message paramiko would lose, in one file: when paramiko changes, this
is the file to read. Each trick falls back to paramiko's own behaviour where the
internals it needs are missing.

- Transport: wakes its reader once a second, not ten times (1,000 hosts); prefers
  AES-GCM; keeps the bytes a server sent instead of an SSH banner.
- start_command: an exec request sent without waiting for its reply, so the shell's
  first commands travel with it.
- GreenPipe: a channel's input buffer on one gevent event instead of a patched lock
  and condition per packet.
- patch_mac_check: the standard library's constant-time comparison for every
  packet's MAC in place of paramiko's Python loop.
"""

from __future__ import annotations

import hmac
import time

import gevent.event
import paramiko
from gevent import monkey
from paramiko.buffered_pipe import BufferedPipe, PipeTimeout


class Transport(paramiko.Transport):
    """paramiko's transport, cheaper per host when a thousand are open at once."""

    # paramiko wakes each connection's reader every 0.1 s to see whether it should stop,
    # send a keepalive or rekey: at 1,000 hosts, 10,000 timer wake-ups a second (300,000
    # in a 26 s run, a tenth of its CPU). Closing wakes the reader anyway (gevent
    # cancels the wait; an OS thread leaves within the interval); keepalives (every 30 s
    # by default) and rekeying are not due to the tenth of a second.
    _active_check_timeout = 1.0

    # AES-GCM first where this paramiko has it (OpenSSH has since 6.2; any cipher both
    # ends know is still taken): its integrity check is part of the cipher, in C, where
    # paramiko checks an HMAC byte by byte in Python for the others, on every packet.
    _preferred_ciphers = tuple(
        sorted(paramiko.Transport._preferred_ciphers, key=lambda name: "-gcm@" not in name)
    )

    # What the server sent before its SSH banner, or instead of it. paramiko drops
    # what it read when the banner is wrong or missing, and says "Error reading SSH
    # protocol banner" for a timeout, a closed connection and an HTTP proxy alike.
    banner_bytes = b""

    def _check_banner(self):
        packetizer = self.packetizer
        read = packetizer._read_timeout

        def recording(timeout):
            data = read(timeout)
            if len(self.banner_bytes) < 4096:
                self.banner_bytes += data
            return data

        packetizer._read_timeout = recording
        try:
            super()._check_banner()
        finally:
            del packetizer._read_timeout



def start_command(channel, command: str) -> None:
    """`channel.exec_command(command)` less its wait for the server's reply: the first
    command is written right behind the request, which saves a round trip per shell. A
    refused request closes the channel (paramiko does that on its own), and the command
    written meanwhile sees the shell end, as it would if the shell died."""
    # Bytes that were not UTF-8 (a file name read from the host) are sent as they came.
    command = command.encode("utf-8", "surrogateescape")
    transport = getattr(channel, "transport", None)
    if not hasattr(channel, "remote_chanid") or not hasattr(transport, "_send_user_message"):
        channel.exec_command(command)  # a paramiko without these internals
        return
    message = paramiko.Message()
    message.add_byte(paramiko.common.cMSG_CHANNEL_REQUEST)
    message.add_int(channel.remote_chanid)
    message.add_string("exec")
    message.add_boolean(True)  # a failure closes the channel; a success is ignored
    message.add_string(command)
    transport._send_user_message(message)



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



def patch_mac_check() -> None:
    """paramiko checks every packet's MAC with a byte-by-byte Python loop: 0.15 ms a
    packet, an eighth of a run's CPU. The standard library's comparison is the same
    constant-time check, in C."""
    for module in (paramiko.util, getattr(paramiko, "hostkeys", None)):
        if getattr(module, "constant_time_bytes_eq", None) is not None:
            module.constant_time_bytes_eq = hmac.compare_digest
