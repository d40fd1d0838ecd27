"""--no-wait: each host runs through its operations at its own pace, several operations
to a round trip.

No other host holds a host back between its operations, so consecutive operations
form a chain whose commands are written to the host together: they run as the same
user, with the same environment and timeout, and all go to the remote shell. The shell
stops at the first command that fails, so each operation still gets its own results,
and a failure stops the host where it stands, as one operation at a time would.

An operation that depends on an earlier change (api/build/dependencies.py) must act on the
state the chain leaves. One whose commands can decide on the host (HostOperation.decide:
`files.line` adding a line checks for it there) joins the chain with those; they print
UNCHANGED when there was nothing to do, and the operation reports no change.

A chain ends:
- before any other operation that depends on an earlier change: its facts are read
  behind the chain's commands, it is made again from them and heads the next chain;
- before a Python callback, an operation with `retries` or `run_once`, or one whose
  facts could not be read (error ignored): those run alone, as they would without
  chains;
- after an operation with `ignore_errors`: its failure must not stop those after it.
"""

from __future__ import annotations

import logging
from typing import Callable

from pyinfra.api.command import UNCHANGED, FileUploadCommand, RunAs, StringCommand, is_login
from pyinfra.api.exceptions import ConnectError
from pyinfra.api.host import Host
from pyinfra.api.run.reads import made_now, read_behind, take_read
from pyinfra.api.run.steps import failed_finally, run_group, run_host_operation, succeeded
from pyinfra.api.state import Events, HostOperation, OperationMeta, State, Status

logger = logging.getLogger("pyinfra")

Link = tuple[OperationMeta, HostOperation]


def run_host(state: State, host: Host, events: Events, stop: Callable[[], bool]) -> None:
    """Run `host`'s operations in chains until they are done, the host fails, the run
    is interrupted or `stop()` says the deploy stopped (FAIL_PERCENT)."""
    ops = state.ops_for_host(host)
    index = 0
    while index < len(ops):
        if state.results[host].failed or state.interrupted or stop():
            return
        meta, op = ops[index]
        if not made_now(state, host, meta, op, events):
            return
        chain = [(meta, op)]
        if chainable(op):
            while index + len(chain) < len(ops):
                following = ops[index + len(chain)]
                decided = None
                if following[1].dependent and not events.shows_plans and following[1].decide:
                    decided = following[1].decide()
                if not joins(chain, following[1], decided):
                    break
                if decided is not None:
                    take_decided(host, following[1], decided)
                chain.append(following)
        index += len(chain)
        if len(chain) == 1:
            done = run_host_operation(state, host, meta, op, events, made=True)
        else:
            done = run_chain(state, host, chain, events)
        if not done:
            return


def chainable(op: HostOperation, commands: list | None = None) -> bool:
    """Its commands (or `commands`) can go to the shell with others' (it may have none)."""
    kwargs = op.global_kwargs
    if op.error is not None or kwargs.get("retries") or kwargs.get("run_once"):
        return False
    commands = op.commands if commands is None else commands
    if not all(isinstance(command, (StringCommand, FileUploadCommand)) for command in commands):
        return False
    return len({is_login(command) for command in commands}) <= 1


def joins(chain: list[Link], op: HostOperation, decided: list | None = None) -> bool:
    """`op` can run in the same round trip as the chain, right after it: with its own
    commands, or when it depends on an earlier change, with `decided` (commands
    deciding on the host; None: it has none)."""
    head, last = chain[0][1], chain[-1][1]
    commands = op.commands if decided is None else decided
    if (op.dependent and decided is None) or last.global_kwargs["ignore_errors"]:
        return False
    if not chainable(op, commands) or RunAs.of(op.global_kwargs) != RunAs.of(head.global_kwargs):
        return False
    logins = {is_login(command) for _, member in chain for command in member.commands}
    return not commands or not logins or logins == {is_login(commands[0])}


def take_decided(host: Host, op: HostOperation, decided: list) -> None:
    """A dependent operation joins a chain with commands deciding on the host."""
    op.commands, op.changes = decided, []
    logger.debug("[%s] %d command(s) deciding on the host join the round trip", host.name, len(decided))


def run_chain(state: State, host: Host, chain: list[Link], events: Events) -> bool:
    """Run the chain's commands in one go and give each operation its results; False
    when the host failed or the run was interrupted."""
    commands = [command for _, op in chain for command in op.commands]
    last = chain[-1][1]
    group = list(commands)
    groups = [group] if group else []
    read_next = read_behind(state, host, last, groups)
    for _, op in chain:
        op.attempts, op.results, op.status = 1, [], Status.RUNNING
    results = []
    if groups:
        logger.debug(
            "[%s] %d operations (%d commands) in one round trip", host.name, len(chain), len(commands)
        )
        try:
            results = run_group(state, host, groups[0], RunAs.of(chain[0][1].global_kwargs))
        except ConnectError as error:
            return lost(state, host, chain, events, error)
        if read_next is not None:
            take_read(host, last, results, groups[0], read_next)
    position = 0
    for number, (meta, op) in enumerate(chain):
        count = len(op.commands)
        op.results = results[position : position + count]
        position += count
        failed = [result for result in op.results if not result.ok]
        if not failed and len(op.results) == count:
            if op.decide is not None and op.dependent:
                found_unchanged(op)
            succeeded(state, host, meta, op, events)
            continue
        for _, later in chain[number + 1 :]:
            later.status = None  # the shell skipped them: never started
        if not failed:  # cut short without a failure: only an interrupt does that
            op.status = Status.INTERRUPTED
            return False
        op.error = failed[0].describe()
        if state.interrupted:
            op.status = Status.INTERRUPTED
            return False
        return failed_finally(state, host, meta, op, events)  # ignore_errors: the chain's last
    return True


def found_unchanged(op: HostOperation) -> None:
    """Take UNCHANGED out of the output of an operation's commands; when one printed
    it, the operation found nothing to do on the host."""
    for result in op.results:
        if UNCHANGED in result.stdout:
            result.stdout[:] = [line for line in result.stdout if line != UNCHANGED]
            op.unchanged_on_host = True


def lost(state: State, host: Host, chain: list[Link], events: Events, error: ConnectError) -> bool:
    """The connection went away (or Ctrl-C stopped it) with the chain in flight: the
    operations whose every command's end came back are done; what each of the others
    did on the host is unknown, and said so."""
    done, position = error.completed, 0
    while chain:
        meta, op = chain[0]
        count = len(op.commands)
        if len(done) - position < count:
            break
        op.results = done[position : position + count]
        position += count
        if op.decide is not None and op.dependent:
            found_unchanged(op)
        succeeded(state, host, meta, op, events)
        chain = chain[1:]
    if not chain:  # gone while the facts of the next were read behind them
        if not state.interrupted:
            state.fail_host(host, str(error))
        return False
    for meta, op in chain:
        if state.interrupted:
            op.status = Status.INTERRUPTED
            continue
        others = len(chain) - 1
        op.status = Status.LOST
        op.error = f"{error} (sent with {others} other operation(s): outcome unknown)"
        events.host_operation_done(host, meta, op)
    if not state.interrupted:
        meta, op = chain[0]
        state.fail_host(host, f"{op.name or meta.name}: {op.error}")
    return False
