"""One operation's steps on one host: made again from fresh facts if it depends on an
earlier change, its commands run in groups (a round trip each), retried, and its
outcome recorded: succeeded, failed (or ignored), lost with the connection, or
interrupted."""

from __future__ import annotations

import logging
import traceback
from enum import Enum

import gevent

from pyinfra.api.command import (
    LOCAL_COMMANDS,
    FileDownloadCommand,
    FileUploadCommand,
    FunctionCommand,
    RunAs,
    StringCommand,
    is_login,
)
from pyinfra.api.connectors.base import CommandResult
from pyinfra.api.exceptions import ConnectError, PyinfraError
from pyinfra.api.host import Host
from pyinfra.api.run.reads import made_now, read_behind, take_read
from pyinfra.api.state import Events, HostOperation, OperationMeta, State, Status

logger = logging.getLogger("pyinfra")


def command_groups(commands: list) -> list[list]:
    """Consecutive shell commands and uploads go together (the connector may send them
    in one round trip); a local function or a download runs alone, where it stands."""
    groups: list[list] = []
    for command in commands:
        if not isinstance(command, (StringCommand, FileUploadCommand, *LOCAL_COMMANDS)):
            raise TypeError(f"unknown command {command!r}")
        alone = isinstance(command, LOCAL_COMMANDS)
        # Commands run as the login user (StringCommand.login) go apart from the others.
        other_user = groups and is_login(groups[-1][0]) != is_login(command)
        if alone or other_user or not groups or isinstance(groups[-1][0], LOCAL_COMMANDS):
            groups.append([command])
        else:
            groups[-1].append(command)
    return groups


class CallbackResult(CommandResult):
    """A Python callback that raised: the failure reads as the callback and what it
    raised, in one line."""

    def describe(self, max_lines: int = 20) -> str:
        return f"{self.command}: {' '.join(self.stderr)}"


def run_callback(state: State, host: Host, command: FunctionCommand) -> CommandResult:
    """Call a python.execute callback. Whatever it raises fails this host only: the
    deploy goes on for the others (an interrupt still stops everything)."""
    try:
        command.function(state, host, *command.args, **command.kwargs)
    except (Exception, SystemExit) as error:
        # The user's own error: its type says what went wrong; ours say it already.
        message = str(error) if isinstance(error, PyinfraError) else f"{type(error).__name__}: {error}"
        logger.debug(
            "[%s] %s raised:\n%s",
            host.name,
            command,
            "".join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip(),
        )
        return CallbackResult(str(command), 1, [], [message])
    return CommandResult(str(command), 0)


def run_group(state: State, host: Host, group: list, run_as: RunAs) -> list[CommandResult]:
    """The results of one group, ending with the first that failed."""
    command = group[0]
    if isinstance(command, FunctionCommand):
        return [run_callback(state, host, command)]
    if isinstance(command, FileDownloadCommand):
        return [host.connector.get_file(command.src, command.dest, run_as)]
    results = host.connector.run_commands(group, run_as=run_as.as_login() if is_login(command) else run_as)
    for result, sent in zip(results, group):
        if isinstance(sent, StringCommand) and sent.shown is not None:
            result.command = sent.shown  # a failure shows the command as the user may see it
    return results


def run_host_operation(
    state: State, host: Host, meta: OperationMeta, op: HostOperation, events: Events, made: bool = False
) -> bool:
    """Run one operation's commands on one host; False when the host failed or the run
    was interrupted. While it runs, its status is RUNNING; after Ctrl-C
    (state.interrupted) nothing new starts, and an operation cut short is INTERRUPTED
    (outcome unknown)."""
    kwargs = op.global_kwargs
    if state.interrupted:
        return False
    if not made and not made_now(state, host, meta, op, events):
        return False
    commands = op.commands
    if op.error is not None and op.status is None:
        # A fact it reads could not be read and it has ignore_errors (api/operation/decorator.py).
        op.status = Status.IGNORED
        events.host_operation_done(host, meta, op)
        return True
    groups = command_groups(commands)
    read_next = read_behind(state, host, op, groups)
    retries = max(0, int(kwargs.get("retries") or 0))
    while True:
        op.attempts += 1
        outcome, error = run_attempt(state, host, op, groups, read_next)
        if outcome is Attempt.OK:
            break
        if outcome is Attempt.INTERRUPTED:
            return False
        if outcome is Attempt.LOST:
            op.status, op.error = Status.LOST, error
            state.fail_host(host, f"{op.name or meta.name}: {error}")
            events.host_operation_done(host, meta, op)
            return False
        if op.attempts <= retries and not state.interrupted:
            logger.debug("[%s] %s failed (attempt %d), retrying", host.name, meta.name, op.attempts)
            gevent.sleep(max(0.0, float(kwargs.get("retry_delay") or 0)))
            continue
        op.error = error if op.attempts == 1 else f"failed after {op.attempts} attempts: {error}"
        return failed_finally(state, host, meta, op, events)
    if state.interrupted and op.status is None:  # nothing to run, but nothing starts now
        return False
    succeeded(state, host, meta, op, events)
    return True


def succeeded(state: State, host: Host, meta: OperationMeta, op: HostOperation, events: Events) -> None:
    op.status = Status.SUCCESS
    result = state.results[host]
    result.ops_done += 1
    result.ops_changed += 1 if op.changed else 0
    events.host_operation_done(host, meta, op)


def failed_finally(state: State, host: Host, meta: OperationMeta, op: HostOperation, events: Events) -> bool:
    """An operation failed for good (its `error` set): ignored with ignore_errors (True:
    the host goes on), else its host fails (False)."""
    if op.global_kwargs["ignore_errors"]:
        op.status = Status.IGNORED
        events.host_operation_done(host, meta, op)
        return True
    op.status = Status.ERROR
    state.fail_host(host, f"{op.name or meta.name}: {op.error}")
    events.host_operation_done(host, meta, op)
    return False


class Attempt(Enum):
    """How one run of an operation's commands ended."""

    OK = "ok"  # every command succeeded
    FAILED = "failed"  # a command failed (the error says which, with its output)
    LOST = "lost"  # the connection went away: what ran is unknown
    INTERRUPTED = "interrupted"  # Ctrl-C or a signal stopped it


def run_attempt(
    state: State, host: Host, op: HostOperation, groups: list[list], read_next
) -> tuple[Attempt, str | None]:
    """Run the operation's command groups once, from the first: how it ended, and for
    FAILED what failed, for LOST why the host is gone."""
    run_as = RunAs.of(op.global_kwargs)
    op.results = []
    for group in groups:
        if state.interrupted:
            if op.status == Status.RUNNING:
                op.status = Status.INTERRUPTED
            return Attempt.INTERRUPTED, None
        op.status = Status.RUNNING
        try:
            results = run_group(state, host, group, run_as)
        except ConnectError as error:
            if state.interrupted:
                op.status = Status.INTERRUPTED
                return Attempt.INTERRUPTED, None
            return Attempt.LOST, str(error)
        if read_next is not None and group is groups[-1]:
            take_read(host, op, results, group, read_next)
        op.results.extend(results)
        failed = [result for result in results if not result.ok]
        if failed and state.interrupted:  # stopped by the interrupt, or about to be
            op.status, op.error = Status.INTERRUPTED, failed[0].describe()
            return Attempt.INTERRUPTED, None
        if failed:
            return Attempt.FAILED, failed[0].describe()
    return Attempt.OK, None


