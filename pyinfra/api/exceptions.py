"""Typed errors of the engine; the CLI turns each into one message and an exit code."""

from __future__ import annotations


class PyinfraError(Exception):
    """Base of every error the tool reports to its user."""

    exit_code = 1
    # True once the message names the user's file and line.
    located = False


class UsageError(PyinfraError):
    """The user asked for something that cannot be: bad option, unknown name."""

    exit_code = 2


class DeployFileError(PyinfraError):
    """A user file (inventory, group data, config, deploy) could not be loaded or run.

    Carries the file and line so the message points at the user's code, not ours.
    """

    def __init__(self, message: str, filename: str | None = None, line: int | None = None):
        self.filename = filename
        self.line = line
        self.located = filename is not None
        where = ""
        if filename:
            where = filename if line is None else f"{filename}, line {line}"
            where += ": "
        super().__init__(where + message)


class InventoryError(DeployFileError):
    """The inventory does not describe hosts and groups the tool can use."""


class NoSuchGroup(InventoryError, AttributeError):
    """`inventory.name` for a group the inventory does not have."""


class OperationError(PyinfraError):
    """An operation was called with arguments it cannot turn into commands."""


class OperationTypeError(OperationError):
    """An operation was called with an unknown or missing argument."""


class FactError(PyinfraError):
    """A fact could not be found or was called with wrong arguments."""


class FactCommandError(Exception):
    """A fact's command exited non-zero (the fact cache turns it into the host's
    error, naming the fact)."""

    def __init__(self, exit_code: int, stderr: list[str]):
        self.exit_code = exit_code
        self.stderr = stderr
        said = "; ".join(line.strip() for line in stderr if line.strip())
        if len(said) > 500:
            said = said[:500] + "..."
        super().__init__(f"exit status {exit_code}" + (f": {said}" if said else " (nothing on stderr)"))


class FactIgnoredError(FactError):
    """A fact an operation with ignore_errors=True reads could not be read: that
    operation is reported as an ignored error and the host goes on."""


class ConnectError(PyinfraError):
    """A host could not be reached or authenticated, or its connection went away.
    `completed`: when it went away in the middle of commands sent together, the results
    of those whose end had come back (known done)."""

    def __init__(self, message: str = "", completed: list | None = None):
        super().__init__(message)
        self.completed: list = completed or []


class CommandFailed(PyinfraError):
    """A command exited non-zero. `result` is what it did (a CommandResult: the
    command, its exit status, stdout and stderr), so whoever catches it can show or
    read all of that; the message shows the command, status and output."""

    def __init__(self, result, message: str | None = None):
        self.result = result
        super().__init__(message if message is not None else result.describe())


class LocalCommandError(CommandFailed):
    """`local.shell` ran a command on the controller that failed."""


class Unreachable(ConnectError):
    """The host did not answer (refused, timed out, closed before SSH began): worth
    trying again (ssh_connect_retries), unlike a refused login."""


class HostKeyChanged(ConnectError):
    """The host's key is not the one known_hosts has for it: never connected to."""


class ShellDied(Exception):
    """A remote shell ended before a command's marker (sudo refused to start it, or the
    connection went away): `result` is what was read so far, `earlier` the results of
    the steps sent before it. The SSH connector turns it into a result or a
    ConnectError; it never reaches the user."""

    def __init__(self, result):
        super().__init__(result.describe())
        self.result = result
        self.earlier: list = []


class HookError(PyinfraError):
    """Raised by a deploy hook to stop the run before anything executes."""


class DeployError(PyinfraError):
    """The deploy stopped: more than FAIL_PERCENT of its hosts failed (0.1's name)."""
