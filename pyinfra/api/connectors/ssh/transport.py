"""How commands travel to the host once the session is open: the one protocol both
transports implement. The shell transport (shell.py) keeps one remote shell per
identity and writes many commands to it in one round trip; the exec transport
(exec.py) opens one channel per command. The connector picks one when it is made
(SSH_TRANSPORT) and never asks again."""

from __future__ import annotations

from typing import Protocol

from pyinfra.api.command import Identity, RunAs
from pyinfra.api.connectors.base import CommandResult, ShellStep


class Transport(Protocol):
    def prepare(self, run_as: RunAs) -> None:
        """Get ready for the first command of `run_as` (the shell transport opens its
        shell). Raises ConnectError when the connection went away meanwhile."""

    def run(self, commands: list, run_as: RunAs) -> list[CommandResult]:
        """Run StringCommands and FileUploadCommands in order, stopping at the first that
        fails: the results end with that one."""

    def run_one(self, command: str, run_as: RunAs, stdin: bytes | None) -> CommandResult:
        """Run one command (shell text), `stdin` sent to it."""

    def put(self, src: str | bytes, dest: str, run_as: RunAs) -> CommandResult:
        """Write `src` (a local path, or bytes) to a new file `dest` as run_as's user."""

    def running(self) -> list[tuple[Identity, int | ShellStep | None]]:
        """(identity, target) of the commands in flight (Connector.interrupt)."""

    def stop_tree(self, identity: Identity, target: int | ShellStep) -> None:
        """Stop a command in flight with its process tree, as its user."""

    def close(self) -> None:
        """Close what the transport opened (its shells); the session stays open."""
