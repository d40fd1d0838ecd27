"""What an operation yields: shell commands, file uploads and local callbacks.

Also the one place that wraps a command for sudo / su / env, so quoting is decided once.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Union


def quote(value: Any) -> str:
    """Quote one value for a POSIX shell: it always arrives as one literal word."""
    return shlex.quote(str(value))


@dataclass(frozen=True)
class StringCommand:
    """A shell command, already quoted where it interpolates values."""

    command: str

    def __str__(self) -> str:
        return self.command


@dataclass(frozen=True)
class FileUploadCommand:
    """Copy a local file (path) or bytes to a remote path."""

    src: str | bytes
    dest: str

    def __str__(self) -> str:
        what = "<content>" if isinstance(self.src, bytes) else self.src
        return f"upload {what} -> {self.dest}"


@dataclass(frozen=True)
class FunctionCommand:
    """A Python callback run on the controller when the operation's turn comes."""

    function: Callable
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def __str__(self) -> str:
        name = getattr(self.function, "__name__", repr(self.function))
        return f"python {name}(...)"


Command = Union[StringCommand, FileUploadCommand, FunctionCommand]


def to_command(value: Any) -> Command:
    """Accept what an operation yields: a str, a command object or (local, remote)."""
    if isinstance(value, (StringCommand, FileUploadCommand, FunctionCommand)):
        return value
    if isinstance(value, str):
        return StringCommand(value)
    raise TypeError(f"an operation yielded {value!r}, not a command")


def wrap_command(
    command: str,
    sudo: bool = False,
    sudo_user: str | None = None,
    su_user: str | None = None,
    env: dict | None = None,
    timeout: float | None = None,
) -> str:
    """Wrap `command` so it runs under sh with env, as the asked user, stopped on the
    host after `timeout` seconds (TERM, then KILL 5 s later)."""
    if env:
        exports = " ".join(f"{key}={quote(value)}" for key, value in env.items())
        command = f"export {exports}; {command}"
    command = "sh -c " + quote(command)
    if timeout:
        command = f"timeout -k 5 {math.ceil(timeout)} {command}"
    return as_user(command, sudo=sudo, sudo_user=sudo_user, su_user=su_user)


def as_user(
    command: str, sudo: bool = False, sudo_user: str | None = None, su_user: str | None = None
) -> str:
    """Run `command` (already a safe shell word list) through su and/or sudo.

    sudo runs non-interactively (-n): a host whose sudo wants a password fails with a
    message instead of hanging on a prompt nobody can answer.
    """
    if su_user:
        command = f"su {quote(su_user)} -s /bin/sh -c {quote(command)}"
    if sudo:
        user = f"-u {quote(sudo_user)} " if sudo_user else ""
        command = f"sudo -H -n {user}{command}"
    return command
