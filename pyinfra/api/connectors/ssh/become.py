"""Becoming the user a command runs as: sudo (to root or `sudo_user`) or su, with
sudo's password given when and only when sudo asks for it, and a terminal (a PTY) for
an identity whose sudo refuses to run without one (sudoers' `requiretty`).

A shell or a command of one identity is started through `Become.start(channel, ...)`
(the password handshake: start_process); `Become.key(run_as)` says which shell an
identity uses, with or without a terminal.
"""

from __future__ import annotations

import logging
import uuid
from typing import Callable, NamedTuple

import gevent

from pyinfra.api.command import Identity, RunAs, as_user, quote
from pyinfra.api.connectors.base import MAX_LINE, CommandResult, OutputLines, decode
from pyinfra.api.connectors.ssh.banner import AfterLogin, after_login
from pyinfra.api.connectors.ssh.stream import LineReader
from pyinfra.api.exceptions import ShellDied

logger = logging.getLogger("pyinfra")


class ShellKey(NamedTuple):
    """Which remote shell (or channel) a command runs in: its identity, and whether it
    has a terminal."""

    identity: Identity
    pty: bool


# Wraps a command for an identity: (command, sudo prompt or None) -> shell text.
Starter = Callable[[str, "str | None"], str]


class Become:
    """How commands of one host become their user. `password` is sudo's (the host's
    sudo_password data), `host_name` names the host in logs."""

    def __init__(self, host_name: str, password: str | None):
        self.host_name = host_name
        self.password = password
        # Identities whose sudo wants a terminal (requiretty), learnt on the way.
        self.tty_identities: set[Identity] = set()

    def key(self, run_as: RunAs) -> ShellKey:
        """A terminal when asked, or when this identity's sudo refused to run without
        one (requiretty)."""
        identity = run_as.identity
        return ShellKey(identity, run_as.get_pty or identity in self.tty_identities)

    def wants_tty(self, key: ShellKey, result: CommandResult) -> bool:
        """True (and remembered for the identity) when sudo refused for want of a
        terminal, so the command can run again, through a PTY: it did not run."""
        if key.pty or not key.identity.sudo or not needs_tty(result):
            return False
        logger.debug("[%s] sudo requires a tty: using a PTY from now on", self.host_name)
        self.tty_identities.add(key.identity)
        return True

    def password_for(self, identity: Identity) -> str | None:
        return self.password if identity.sudo else None

    @staticmethod
    def starter(run_as: RunAs) -> Starter:
        """What wraps a command to run as run_as's user (sudo's prompt set when given)."""

        def start(command: str, prompt: str | None) -> str:
            return as_user(command, run_as, sudo_prompt=prompt)

        return start

    def start(self, channel, run_as: RunAs, command: str, pty: bool, timeout: float, on_banner=None):
        """Run `command` on `channel` as run_as's user; (stdout, stderr) once it runs."""
        password = self.password_for(run_as.identity)
        return start_process(channel, self.starter(run_as), command, password, pty, timeout, on_banner)


# sudo's refusal on a host whose sudoers says `requiretty`: run it through a PTY.
TTY_REFUSAL = "must have a tty"


# What a PTY must do to carry a session byte for byte: no echo of what is sent, no
# line editing or length limit, no signals from bytes, no \r added to output. Set
# before sudo (the login's terminal) and after (the one sudo's use_pty may add).
RAW_TTY = "stty raw -echo -iexten 2>/dev/null"


def needs_tty(result: CommandResult) -> bool:
    """True when sudo refused because it was not given a terminal (requiretty)."""
    return any(TTY_REFUSAL in line for line in list(result.stderr) + list(result.stdout))


def start_process(
    channel, identity: Starter, command: str, password: str | None, pty: bool, timeout: float, on_banner=None
):
    """Run `command` (shell text) on `channel` as the identity, and return its (stdout,
    stderr) files once it runs: sudo was given `password` when (and only when) it asked,
    and nothing sent from now on is read by sudo or echoed. With `pty` the channel has
    a terminal, set raw; stderr then arrives on stdout. ShellDied carries sudo's own
    words when it refused. What the login shell printed first goes to `on_banner`
    (banner.py), not into the files."""
    token = uuid.uuid4().hex
    prompt, ready = f"pyinfra-sudo-{token}", f"pyinfra-ready-{token}"
    setup = RAW_TTY + "; " if pty else ""
    started = identity(
        f"sh -c {quote(f'{setup}echo {ready} >&2; {command}')}", prompt + "\n" if password else None
    )
    if pty:
        channel.get_pty(term="dumb", width=0, height=0)
        started = f"sh -c {quote(f'{RAW_TTY}; exec {started}')}"
    channel.exec_command(after_login(started, pty).encode("utf-8", "surrogateescape"))
    stdout = AfterLogin(LineReader(channel.recv), on_banner)
    stderr = LineReader(channel.recv_stderr)
    if not pty:  # on a terminal the marker is on stdout only
        stderr = AfterLogin(stderr, on_banner)
    stream = stdout if pty else stderr
    errors = OutputLines()
    asked = 0
    try:
        with gevent.Timeout(timeout):
            while True:
                raw = stream.readline(MAX_LINE)
                line = decode(raw).replace("\r", "")
                if line.endswith(ready):  # a banner may not have ended its line
                    return stdout, stderr
                if line.endswith(prompt):  # a terminal may keep an earlier line's rest
                    asked += 1
                    if asked > 1:
                        errors.add("sudo: incorrect password")
                        break
                    channel.sendall(password.encode() + b"\n")
                elif raw:
                    if line:
                        errors.add(line)
                else:
                    break
    except gevent.Timeout:
        errors.add("sudo: no answer while starting")
    code = channel.recv_exit_status() if channel.exit_status_ready() else 1
    try:
        channel.close()
    except Exception:
        pass
    raise ShellDied(CommandResult("sudo", code or 1, OutputLines(), errors))

