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
    sudo_password: bool = False,
) -> str:
    """Wrap `command` so it runs under sh with env, as the asked user, stopped on the
    host after `timeout` seconds (TERM, then KILL 5 s later).

    With `sudo_password`, sudo reads the password from stdin (the caller sends it) and
    the command itself reads nothing from there."""
    if env:
        exports = " ".join(f"{key}={quote(value)}" for key, value in env.items())
        command = f"export {exports}; {command}"
    command = "sh -c " + quote(command)
    if timeout:
        command = f"timeout -k 5 {math.ceil(timeout)} {command}"
    if sudo and sudo_password:
        command = "sh -c " + quote(command + " </dev/null")
        return as_user(command, sudo=sudo, sudo_user=sudo_user, su_user=su_user, sudo_prompt="")
    return as_user(command, sudo=sudo, sudo_user=sudo_user, su_user=su_user)


def as_user(
    command: str,
    sudo: bool = False,
    sudo_user: str | None = None,
    su_user: str | None = None,
    sudo_prompt: str | None = None,
) -> str:
    """Run `command` (already a safe shell word list) through su and/or sudo.

    Without `sudo_prompt`, sudo runs non-interactively (-n): a host whose sudo wants a
    password fails with a message instead of hanging on a prompt nobody can answer.
    With it, sudo reads a password from stdin (-S), showing that prompt on stderr.
    """
    if su_user:
        command = f"su {quote(su_user)} -s /bin/sh -c {quote(command)}"
    if sudo:
        user = f"-u {quote(sudo_user)} " if sudo_user else ""
        mode = "-n" if sudo_prompt is None else f"-S -p {quote(sudo_prompt)}"
        command = f"sudo -H {mode} {user}{command}"
    return command
