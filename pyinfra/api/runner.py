"""Executing recorded operations: operation by operation on all hosts in parallel,
host by host (serial), or each host at its own pace (no_wait)."""

from __future__ import annotations

import logging
import traceback

import gevent
import gevent.event

from pyinfra.api.command import FileUploadCommand, FunctionCommand, Identity, RunAs, StringCommand
from pyinfra.api.connectors.base import KILL_GRACE, CommandResult
from pyinfra.api.exceptions import ConnectError, PyinfraError
from pyinfra.api.facts import FactKey
from pyinfra.api.host import Host
from pyinfra.api.parallel import map_hosts
from pyinfra.api.state import Events, HostOperation, OperationMeta, State

logger = logging.getLogger("pyinfra")


def command_groups(commands: list) -> list[list]:
    """Consecutive shell commands and uploads go together (the connector may send them
    in one round trip); a local function runs alone, where it stands."""
    groups: list[list] = []
    for command in commands:
        if not isinstance(command, (StringCommand, FileUploadCommand, FunctionCommand)):
            raise TypeError(f"unknown command {command!r}")
        alone = isinstance(command, FunctionCommand)
        # Commands run as the login user (StringCommand.login) go apart from the others.
        other_user = groups and is_login(groups[-1][0]) != is_login(command)
        if alone or other_user or not groups or isinstance(groups[-1][0], FunctionCommand):
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


def is_login(command) -> bool:
    return isinstance(command, StringCommand) and command.login


def run_group(state: State, host: Host, group: list, run_as: RunAs) -> list[CommandResult]:
    """The results of one group, ending with the first that failed."""
    command = group[0]
    if isinstance(command, FunctionCommand):
        return [run_callback(state, host, command)]
    return host.connector.run_commands(group, run_as=run_as.as_login() if is_login(command) else run_as)


# How many dependent operations ahead a read of facts serves: their facts travel with
# it, in case those before them run nothing. Bounded: a long deploy of operations
# after a `server.shell` would otherwise read the rest of itself at every step.
READ_AHEAD = 8


def fed(op: HostOperation | None) -> list[HostOperation]:
    """`op` and the dependent operations after it that it feeds, one by one (at most
    READ_AHEAD): those whose facts one read can serve."""
    chain: list[HostOperation] = []
    while op is not None and len(chain) < READ_AHEAD:
        chain.append(op)
        op = op.feeds
    return chain


def remake(state: State, host: Host, op: HostOperation) -> None:
    """Make a dependent operation's commands again from the facts as they are now: the
    facts it read are read again first, all in one round trip, with those of the
    dependent operations it feeds (read as the same users), for when it runs nothing."""
    keys = [key for key in op.reads if key not in op.fresh]
    op.reads, op.fresh, op.error = [], set(), None
    ahead: list[FactKey] = []
    if keys:
        identities = {key.identity for key in keys}
        for later in fed(op.feeds):
            mine = [key for key in later.reads if key.identity in identities]
            later.ahead = set(mine)
            ahead.extend(key for key in mine if key not in keys and key not in ahead)
    state.facts.refresh(host, keys + ahead)
    if state.results[host].failed:
        raise PyinfraError(f"facts could not be read again: {state.results[host].error}")
    op.commands = op.remake()
    if not op.commands and op.feeds is not None:
        # Nothing ran since the facts of the next one were read: they are fresh.
        op.feeds.fresh.update(op.feeds.ahead)
    logger.debug("[%s] made again from fresh facts: %d command(s)", host.name, len(op.commands))


def made_now(state: State, host: Host, meta: OperationMeta, op: HostOperation, events: Events) -> bool:
    """Make a dependent operation again from fresh facts (others are made already);
    False when its facts could not be read, and the host failed saying so."""
    if not op.dependent:
        return True
    try:
        remake(state, host, op)
    except PyinfraError as error:
        op.status, op.error = "error", str(error)
        state.fail_host(host, f"{op.name or meta.name}: {error}")
        events.host_operation_done(host, meta, op)
        return False
    events.operation_made(host, meta, op)
    return True


def read_behind(state: State, host: Host, op: HostOperation, groups: list[list]):
    """When the host's next operation depends on this one, add a read of its facts
    to the end of our last group (same user, no env): its `done(result)`, or None."""
    following = op.feeds
    kwargs = op.global_kwargs
    if (
        following is None
        or not groups
        or isinstance(groups[-1][0], FunctionCommand)
        or is_login(groups[-1][0])
        or kwargs["env"]
    ):
        return None
    sudo = bool(kwargs["sudo"])
    identity = Identity(sudo, kwargs["sudo_user"] if sudo else None, kwargs["su_user"])
    keys: list[FactKey] = []
    for later in fed(following):
        keys.extend(key for key in later.reads if key not in keys)
    read = state.facts.read_later(host, keys, identity)
    if read is None:
        return None
    command, done = read
    groups[-1] = groups[-1] + [StringCommand(command)]
    return done


def run_host_operation(
    state: State, host: Host, meta: OperationMeta, op: HostOperation, events: Events, made: bool = False
) -> bool:
    """Run one operation's commands on one host; False when the host failed or the run
    was interrupted. While it runs, its status is "running"; after Ctrl-C
    (state.interrupted) nothing new starts, and an operation cut short is "interrupted"
    (outcome unknown)."""
    kwargs = op.global_kwargs
    if state.interrupted:
        return False
    if not made and not made_now(state, host, meta, op, events):
        return False
    commands = op.commands
    if op.error is not None and op.status is None:
        # A fact it reads could not be read and it has ignore_errors (api/operation.py).
        op.status = "ignored"
        events.host_operation_done(host, meta, op)
        return True
    groups = command_groups(commands)
    read_next = read_behind(state, host, op, groups)
    retries = max(0, int(kwargs.get("retries") or 0))
    while True:
        op.attempts += 1
        outcome, error = run_attempt(state, host, op, groups, read_next)
        if outcome == "ok":
            break
        if outcome == "interrupted":
            return False
        if outcome == "lost":
            op.status, op.error = "error", error
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
    op.status = "success"
    result = state.results[host]
    result.ops_done += 1
    result.ops_changed += 1 if op.changed else 0
    events.host_operation_done(host, meta, op)


def failed_finally(state: State, host: Host, meta: OperationMeta, op: HostOperation, events: Events) -> bool:
    """An operation failed for good (its `error` set): ignored with ignore_errors (True:
    the host goes on), else its host fails (False)."""
    if op.global_kwargs["ignore_errors"]:
        op.status = "ignored"
        events.host_operation_done(host, meta, op)
        return True
    op.status = "error"
    state.fail_host(host, f"{op.name or meta.name}: {op.error}")
    events.host_operation_done(host, meta, op)
    return False


def take_read(host: Host, op: HostOperation, results: list, group: list, read_next) -> None:
    """Cache the facts of the dependent operation `op` feeds, read behind the last
    command of `group` (read_behind), and drop that read from `results`."""
    read = results.pop() if len(results) == len(group) else None
    fresh = set(read_next(read))
    following, *later = fed(op.feeds)
    following.fresh.update(fresh.intersection(following.reads))
    for each in later:
        each.ahead = fresh.intersection(each.reads)
    logger.debug("[%s] %d fact(s) of the next operation read with these commands", host.name, len(fresh))


def run_attempt(state: State, host: Host, op: HostOperation, groups: list[list], read_next):
    """Run the operation's command groups once, from the first: ("ok", None),
    ("failed", what failed), ("lost", why: the host is gone) or ("interrupted", None)."""
    run_as = RunAs.of(op.global_kwargs)
    op.results = []
    for group in groups:
        if state.interrupted:
            if op.status == "running":
                op.status = "interrupted"
            return "interrupted", None
        op.status = "running"
        try:
            results = run_group(state, host, group, run_as)
        except ConnectError as error:
            if state.interrupted:
                op.status = "interrupted"
                return "interrupted", None
            return "lost", str(error)
        if read_next is not None and group is groups[-1]:
            take_read(host, op, results, group, read_next)
        op.results.extend(results)
        failed = [result for result in results if not result.ok]
        if failed and state.interrupted:  # stopped by the interrupt, or about to be
            op.status, op.error = "interrupted", failed[0].describe()
            return "interrupted", None
        if failed:
            return "failed", failed[0].describe()
    return "ok", None


def hosts_for(state: State, key: str) -> list[Host]:
    return [h for h in state.active_hosts() if key in state.host_ops[h]]


def run_operations(
    state: State, serial: bool = False, no_wait: bool = False, events: Events | None = None
) -> bool:
    """Run every recorded operation; False when the deploy stopped on FAIL_PERCENT."""
    events = events or Events()
    if no_wait:
        return _run_no_wait(state, events)
    for key in state.op_order:
        if state.too_many_failed():
            return False
        meta = state.op_meta[key]
        hosts = hosts_for(state, key)
        if not hosts:
            continue
        if meta.global_kwargs.get("run_once"):
            for skipped in hosts[1:]:
                state.host_ops[skipped][key].status = "skipped"
            hosts = hosts[:1]
        events.operation_start(meta, hosts)

        def run(host, key=key, meta=meta):
            return run_host_operation(state, host, meta, state.host_ops[host][key], events)

        # One at a time is still in a greenlet of its own (map_hosts): Ctrl-C must reach
        # the main greenlet, not a command in flight (interrupt_all stops that).
        serial_op = serial or meta.global_kwargs.get("serial")
        map_hosts(1 if serial_op else state.config.PARALLEL, hosts, run)
    return not state.too_many_failed()


def _run_no_wait(state: State, events: Events) -> bool:
    from pyinfra.api.chain import run_host  # it builds on this module

    stopped: list[bool] = []

    def stop() -> bool:
        if not stopped and state.too_many_failed():
            stopped.append(True)
        return bool(stopped)

    map_hosts(state.config.PARALLEL, state.active_hosts(), lambda host: run_host(state, host, events, stop))
    gevent.sleep(0)
    return not state.too_many_failed()


# Handshakes in flight at once. Key exchange costs CPU on both ends: started all at once
# on hundreds of hosts, each would take long enough to run past TIMEOUT, which counts
# from the start of that host's own attempt.
CONNECT_AT_ONCE = 64


def connect_all(state: State, hosts: list[Host] | None = None, on_progress=None) -> None:
    """Connect every targeted host at once; a host that cannot be reached is failed.
    `on_progress(done, total)` is called as hosts finish."""
    from pyinfra.api.connectors import make_connector

    hosts = hosts if hosts is not None else state.targets
    done = [0]

    parallel = min(state.config.PARALLEL or CONNECT_AT_ONCE, CONNECT_AT_ONCE)
    # Shells open while connecting only when every host connects at once: a session
    # starting (the login shell's rc files run then) must not delay handshakes still
    # waiting for their turn; with more hosts they open at the first fact.
    prepare = len(hosts) <= parallel

    # The first hosts' TCP connections start now, before the SSH library is loaded
    # (make_connector's first call loads it): the handshakes run during the import.
    dials = {}
    if hosts:
        from pyinfra.api.connectors.sshdial import dial

        dials = {host: dial(host, state.config.TIMEOUT) for host in hosts[:parallel]}
        if any(dials.values()):
            from pyinfra.api.connectors import load_paramiko

            load_paramiko()  # now, before anything else can take the CPU

    for host in hosts:
        state.connecting[host] = gevent.event.Event()

    def connect(host: Host) -> None:
        dialled = dials.pop(host, None)
        try:
            connector = make_connector(host, state.config, on_output=state.on_output)
            if dialled is not None:
                connector.connect(dialled)
            else:
                connector.connect()
            if prepare:
                connector.prepare()
        except ConnectError as error:
            state.fail_host(host, str(error))
        else:
            host.connector = connector
        finally:
            if dialled is not None:
                dialled.close()
            state.connecting.pop(host).set()
        done[0] += 1
        if on_progress:
            on_progress(done[0], len(hosts))

    map_hosts(parallel, hosts, connect)


def interrupt_all(state: State) -> None:
    """Ctrl-C: nothing new starts on any host; the commands in flight (operations and
    fact reads) are stopped on their hosts, each with its whole process tree. Returns
    once the operations in flight know how they ended, or after TIMEOUT (+ KILL_GRACE)
    seconds: those still "running" then are shown as interrupted while running."""
    state.interrupted = True
    hosts = [host for host in state.inventory if host.connector is not None]
    with gevent.Timeout(state.config.TIMEOUT + KILL_GRACE, False):
        map_hosts(None, hosts, lambda host: host.connector.interrupt())
        while any(op.status == "running" for ops in state.host_ops.values() for op in ops.values()):
            gevent.sleep(0.05)


def disconnect_all(state: State) -> None:
    """Close every connection; a close that does not finish in 5 s is abandoned, so
    leaving (even after Ctrl-C) never hangs."""
    for host in state.inventory:
        if host.connector is not None:
            with gevent.Timeout(5, False):
                host.connector.close()
