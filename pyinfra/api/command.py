"""What an operation yields: shell commands, file uploads and local callbacks.

Also the one place that wraps a command for sudo / su / env, so quoting is decided once.
"""

from __future__ import annotations

import math
import posixpath
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Union

from pyinfra.api.quoting import quote
from pyinfra.api.secrets import MASK, Secret


@dataclass(frozen=True)
class QuoteString:
    """A part of a command: one value, quoted for the shell (quote()); shown as ***
    when the value is a secret (api/secrets.py Secret)."""

    value: Any


@dataclass(frozen=True)
class MaskString:
    """A part of a command that is sent as it is and always shown as ***."""

    value: str


@dataclass(frozen=True)
class StringCommand:
    """A shell command, already quoted where it interpolates values.

    `login`: run it as the SSH login user, without the operation's sudo or su (0.1's
    ``{'sudo': False}`` command), so it keeps the login's own environment, such as a
    forwarded SSH agent. `shown`: what the user sees of it, when that differs from
    what is sent (its secret parts as ***: make_command); str() gives that."""

    command: str
    login: bool = False
    shown: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.command if self.shown is None else self.shown


def with_secret_env(name: str, secret: str | None, command: str) -> StringCommand:
    """`command` run with `name=secret` in its environment (a client's password: not in
    argv), the assignment a part shown as ***, whatever its length."""
    if not secret:
        return StringCommand(command)
    return make_command(MaskString(f"{name}={quote(secret)}"), " ", command)


def make_command(*parts: Any, login: bool = False) -> StringCommand:
    """A command of parts: text as it is, QuoteString (a value quoted, masked when
    secret) and MaskString (masked) parts, StringCommands (their own parts). What is
    masked is decided here, by type, not by looking for secret values in text later."""
    sent, shown = [], []
    for part in parts:
        if isinstance(part, QuoteString):
            sent.append(quote(part.value))
            shown.append(MASK if isinstance(part.value, Secret) else quote(part.value))
        elif isinstance(part, MaskString):
            sent.append(part.value)
            shown.append(MASK)
        elif isinstance(part, StringCommand):
            sent.append(part.command)
            shown.append(str(part))
        else:
            sent.append(str(part))
            shown.append(str(part))
    command, text = "".join(sent), "".join(shown)
    return StringCommand(command, login, None if text == command else text)


@dataclass(frozen=True)
class FileUploadCommand:
    """Copy a local file (path) or bytes to a remote path."""

    src: str | bytes
    dest: str

    def __str__(self) -> str:
        what = "<content>" if isinstance(self.src, bytes) else self.src
        return f"upload {what} -> {self.dest}"


@dataclass(frozen=True)
class FileDownloadCommand:
    """Copy the host's file `src` to a local path `dest` (on the controller)."""

    src: str
    dest: str

    def __str__(self) -> str:
        return f"download {self.src} -> {self.dest} (local)"


@dataclass(frozen=True)
class FunctionCommand:
    """A Python callback run on the controller when the operation's turn comes."""

    function: Callable
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def __str__(self) -> str:
        name = getattr(self.function, "__name__", repr(self.function))
        return f"python {name}(...)"


Command = Union[StringCommand, FileUploadCommand, FileDownloadCommand, FunctionCommand]

# Commands run by the controller itself, each alone in its step: a Python callback, a
# download (the connector reads the host's file).
LOCAL_COMMANDS = (FunctionCommand, FileDownloadCommand)


def to_command(value: Any) -> Command:
    """Accept what an operation yields: a str, a command object or (local, remote)."""
    if isinstance(value, (StringCommand, FileUploadCommand, FileDownloadCommand, FunctionCommand)):
        return value
    if isinstance(value, str):
        return StringCommand(value)
    raise TypeError(f"an operation yielded {value!r}, not a command")


class Identity(NamedTuple):
    """Whom a command runs as (and a fact is read as): the login user, or sudo (to
    `sudo_user`, root when None), or su to `su_user`."""

    sudo: bool = False
    sudo_user: str | None = None
    su_user: str | None = None


@dataclass(frozen=True)
class RunAs:
    """How a command runs on the host: as whom (sudo, sudo_user, su_user), with which
    environment, stopped after `timeout` seconds, with a terminal (`get_pty`) where
    the connector has one to give. The default runs as the login user."""

    sudo: bool = False
    sudo_user: str | None = None
    su_user: str | None = None
    env: dict | None = field(default=None, hash=False)
    timeout: float | None = None
    get_pty: bool = False

    @classmethod
    def of(cls, kwargs: dict) -> RunAs:
        """The run-as of an operation's global arguments (api/operation/decorator.py)."""
        return cls(
            bool(kwargs["sudo"]),
            kwargs["sudo_user"],
            kwargs["su_user"],
            kwargs["env"],
            kwargs["timeout"],
            bool(kwargs.get("get_pty")),
        )

    @property
    def identity(self) -> Identity:
        """The user the command runs as."""
        return Identity(self.sudo, self.sudo_user, self.su_user)

    def as_login(self) -> RunAs:
        """The same environment, timeout and terminal, as the login user."""
        return RunAs(env=self.env, timeout=self.timeout, get_pty=self.get_pty)


LOGIN = RunAs()


# What a command that decides on the host (HostOperation.decide) prints, alone on a
# line of its stdout, when it found nothing to do. Unique to this process.
UNCHANGED = f"__pyinfra_unchanged_{uuid.uuid4().hex}__"


def wrap_command(command: str, run_as: RunAs = LOGIN, sudo_password: bool = False) -> str:
    """Wrap `command` so it runs under sh with the run-as's env, as its user, stopped on
    the host after its timeout (TERM, then KILL 5 s later).

    With `sudo_password`, sudo reads the password from stdin (the caller sends it) and
    the command itself reads nothing from there."""
    if run_as.env:
        exports = " ".join(f"{key}={quote(value)}" for key, value in run_as.env.items())
        command = f"export {exports}; {command}"
    command = "sh -c " + quote(command)
    if run_as.timeout:
        command = f"timeout -k 5 {math.ceil(run_as.timeout)} {command}"
    if run_as.sudo and sudo_password:
        command = "sh -c " + quote(command + " </dev/null")
        return as_user(command, run_as, sudo_prompt="")
    return as_user(command, run_as)


# The mode a new file gets from the umask (what `touch` would give it), worked out once
# per shell.
NEW_FILE_MODE = "${__pyinfra_mode:=$(printf %o $((0666 & ~0$(umask))))}"


def write_file_command(dest: str, writer: str, size: int | None = None) -> str:
    """Shell text (one line) that makes `dest` a new file holding what `writer` prints,
    as whoever runs it. It is written to a new file beside it with an unpredictable
    name (created exclusively, mode 0600: unreadable to others while it is written),
    given the mode any new file gets there (the umask), then moved over `dest`. A
    failure removes it and keeps the writer's exit status (127: the writer's tool is
    missing); with `size`, a file of another size (a stream cut short) is a failure
    too. A here-document the writer reads follows the line.

    Few processes: an upload costs the host about a millisecond more than writing the
    file in place (the mode is worked out once per shell)."""
    temp = quote(posixpath.join(posixpath.dirname(dest) or ".", f".pyinfra-{uuid.uuid4().hex}"))
    check = f" && [ $(wc -c < {temp}) -eq {int(size)} ]" if size is not None else ""
    # -T: a directory (or a link to one) at `dest` is refused, never moved into.
    return (
        f"{{ (umask 077 && set -C && exec {writer} > {temp}){check} && chmod {NEW_FILE_MODE} {temp} "
        f"&& mv -fT {temp} {quote(dest)}; }} || {{ __pyinfra_w=$?; rm -f {temp}; (exit $__pyinfra_w); }}"
    )


def as_user(command: str, run_as: RunAs, sudo_prompt: str | None = None) -> str:
    """Run `command` (already a safe shell word list) as the run-as's user, through su
    and/or sudo.

    Without `sudo_prompt`, sudo runs non-interactively (-n): a host whose sudo wants a
    password fails with a message instead of hanging on a prompt nobody can answer.
    With it, sudo reads a password from stdin (-S), showing that prompt on stderr.
    """
    if run_as.su_user:
        command = f"su {quote(run_as.su_user)} -s /bin/sh -c {quote(command)}"
    if run_as.sudo:
        user = f"-u {quote(run_as.sudo_user)} " if run_as.sudo_user else ""
        mode = "-n" if sudo_prompt is None else f"-S -p {quote(sudo_prompt)}"
        command = f"sudo -H {mode} {user}{command}"
    return command


def is_login(command) -> bool:
    """The command runs as the SSH login user, whatever the operation's sudo (StringCommand.login)."""
    return isinstance(command, StringCommand) and command.login

