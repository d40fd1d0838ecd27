"""State: the operations a deploy recorded, in order, and what happened to each host."""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

from pyinfra.api.command import Command
from pyinfra.api.config import Config
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.factcache import FactCache
from pyinfra.api.facts import FactKey
from pyinfra.api.host import Host
from pyinfra.api.inventory import Inventory
from pyinfra.api.loader import user_error

logger = logging.getLogger("pyinfra")

HOOK_NAMES = ("before_connect", "before_facts", "before_deploy", "after_deploy")

GLOBAL_ARGUMENTS = (
    "sudo",
    "sudo_user",
    "su_user",
    "ignore_errors",
    "env",
    "serial",
    "run_once",
    "timeout",
    "get_pty",
    "retries",
    "retry_delay",
)


@dataclass
class OperationMeta:
    """One operation across hosts: its name and where the deploy called it."""

    key: str
    name: str
    location: str
    global_kwargs: dict[str, Any]
    # (file, line) of each user frame of the call, outermost first: the tie-breaker of
    # the run order where hosts' own orders do not decide.
    position: tuple = ()
    seen: int = 0
    # The name each distinct set of rendered arguments gives, and how many hosts gave
    # it; the name shown is the one of the host first in the inventory.
    names: dict = field(default_factory=dict)
    first_name: str = ""
    first_rank: int = -1

    def add_variant(self, name: str, rank: int = 0) -> None:
        """A host (its place in the inventory: `rank`) called it with arguments
        rendered as `name`: the first host's name, with `(+N variants)` where N
        other renderings exist."""
        self.names[name] = self.names.get(name, 0) + 1
        if self.first_rank < 0 or rank < self.first_rank:
            self.first_rank, self.first_name = rank, name
        count = len(self.names) - 1
        if count:
            self.name = f"{self.first_name} (+{count} variant{'s' if count > 1 else ''})"
        else:
            self.name = self.first_name


class Status(str, Enum):
    """Where one operation stands on one host. A str: `op.status == "success"` still
    reads as it did (and JSON shows the word)."""

    RUNNING = "running"  # its commands are in flight
    SUCCESS = "success"  # it ran, every command succeeded
    ERROR = "error"  # it failed, and its host with it
    IGNORED = "ignored"  # it failed, with ignore_errors: the host went on
    SKIPPED = "skipped"  # run_once: another host ran it
    INTERRUPTED = "interrupted"  # cut short by Ctrl-C or a signal: outcome unknown
    LOST = "lost"  # its host's connection went away while it ran: outcome unknown; the host failed

    def __str__(self) -> str:
        return self.value


class HostOperation:
    """One operation on one host: its commands; the meta a deploy file gets back.

    Once the build is over its `commands` are known: those made, or [] with `error`
    saying why none were (a failed build). While the build makes them, the deploy
    holds a build.Pending in its place, which waits for them."""

    __slots__ = (
        "commands",
        "global_kwargs",
        "status",
        "error",
        "reads",
        "remake",
        "dependent",
        "feeds",
        "fresh",
        "ahead",
        "opaque",
        "attempts",
        "results",
        "changes",
        "name",
        "decide",
        "unchanged_on_host",
    )

    def __init__(self, commands: list[Command], global_kwargs: dict[str, Any]):
        self.commands = commands
        self.global_kwargs = global_kwargs
        # Keys of the facts the build read for it, in the FactCache.
        self.reads: list[FactKey] = []
        # Makes the commands again from the facts as they are now (None: it cannot).
        self.remake: Callable[[], list[Command]] | None = None
        # An earlier operation of the run may change what it read: it is made again
        # from fresh facts when its turn comes (api/build/dependencies.py).
        self.dependent = False
        # The dependent operation that runs next on the host when this one changed
        # something: its facts are read behind this one's commands, in their round trip.
        self.feeds: HostOperation | None = None
        # Keys of `reads` read again since the last change before it.
        self.fresh: set[FactKey] = set()
        # Keys of `reads` read before the operation feeding it ran: fresh too when
        # that one turns out to run nothing (runner.remake).
        self.ahead: set[FactKey] = set()
        # What its commands change is unknown (a shell command, a script, a callback):
        # every later operation on the host depends on it (api/build/dependencies.py).
        self.opaque = False
        # How many times its commands ran (retries= runs a failed operation again).
        self.attempts = 0
        # What each command of its last attempt did (CommandResult: exit status,
        # stdout, stderr), in order, ending with the first that failed.
        self.results: list = []
        # What its commands change in files, for diffs (api/diff.py).
        self.changes: list = []
        # Commands that decide on the host what to do, with no fact read first (an
        # --no-wait chain takes a dependent operation along with them): None when the
        # operation has none for these arguments. They print UNCHANGED when they find
        # nothing to do, which `unchanged_on_host` then records.
        self.decide: Callable[[], list[Command] | None] | None = None
        self.unchanged_on_host = False
        # A Status once it started; None: never started.
        self.status: Status | None = None
        self.error: str | None = None
        # The operation's name as this host's arguments render it (no variant count):
        # what a line about this host alone says.
        self.name = ""

    @property
    def changed(self) -> bool:
        return bool(self.commands) and not self.unchanged_on_host

    @property
    def success(self) -> bool:
        """It ran and every command succeeded (False: failed, ignored or not run)."""
        return self.status == Status.SUCCESS

    def __repr__(self) -> str:
        return f"HostOperation(commands={self.commands!r}, status={self.status!r})"


class Events:
    """What the engine tells whoever shows progress (connect_all, the build, run_ops).
    These log it at INFO on the "pyinfra" logger; the CLI's printer overrides them. Set
    another on `state.events`."""

    # True when operations are shown as planned before they run (--diff): then every
    # operation is planned from facts, none decides on the host (HostOperation.decide).
    shows_plans = False

    def hosts_progress(self, phase: str, done: int, total: int) -> None:
        """`done` of `total` hosts are through `phase` ("connect" or "build")."""

    def hosts_connected(self, state: State) -> None:
        """connect_all is through: each target is connected or failed (state.results)."""
        for host in state.targets:
            if host.connected:
                logger.info("[%s] Connected", host.name)

    def operation_start(self, meta: OperationMeta, hosts: list[Host]) -> None:
        logger.info("Starting operation: %s", meta.name)

    def host_operation_done(self, host: Host, meta: OperationMeta, op: HostOperation) -> None:
        if op.status == Status.SUCCESS:
            logger.info("[%s] %s", host.name, "Success (changed)" if op.changed else "No change")
        elif op.status == Status.IGNORED:
            logger.warning("[%s] Error (ignored): %s", host.name, op.error)

    def operation_made(self, host: Host, meta: OperationMeta, op: HostOperation) -> None:
        """A dependent operation was made again, its commands about to run."""


@dataclass
class HostResult:
    failed: bool = False
    error: str | None = None
    ops_done: int = 0
    ops_changed: int = 0


class State:
    """Everything about one run: inventory, config, recorded operations, results."""

    def __init__(self, inventory: Inventory, config: Config | None = None, deploy_dir: str = "."):
        self.inventory = inventory
        self.config = config or Config()
        self.deploy_dir = deploy_dir
        self.facts = FactCache(self)
        self.forget_operations()
        self.results: dict[Host, HostResult] = {h: HostResult() for h in inventory}
        # Hosts this run works on (after --limit); the others are never touched.
        self.targets: list[Host] = list(inventory)
        # on_output(host, stream, line): each line of remote output as it arrives
        # (bytes that are not UTF-8 as surrogate escapes: connectors/base.decode_exact).
        self.on_output = None
        self.dry_run = False
        # Whether what fact commands print reaches on_output too (0.1: at -vv).
        self.show_fact_output = False
        # Set on Ctrl-C (runner.interrupt_all): nothing new starts.
        self.interrupted = False
        # Why the run stopped before its end (FAIL_PERCENT), for reports of what happened.
        self.stopped: str | None = None
        # Told of progress by connect_all, the build and run_ops (Events); the
        # CLI sets its printer here.
        self.events: Events = Events()
        # This run's hooks, name -> functions called as f(data, state) (add_hook).
        self.hooks: dict[str, list[Callable]] = {name: [] for name in HOOK_NAMES}
        # Each host's place in the inventory: the first host names an operation.
        self._rank = {host: index for index, host in enumerate(inventory)}
        # Hosts connect_all is connecting: an event each, set when its attempt ends
        # (a fact read during the connect waits for it: the CLI builds meanwhile).
        self.connecting: dict[Host, Any] = {}
        for host in inventory:
            host.state = self

    def forget_operations(self) -> None:
        """No operation recorded (yet, or any more: a build is made again)."""
        self.op_meta: dict[str, OperationMeta] = {}
        # Run-order constraints: operation -> operations that must come after it.
        self._op_next: dict[str, set[str]] = {}
        self._host_last: dict[Host, str] = {}
        self._order: list[str] | None = None
        self.host_ops: dict[Host, dict[str, HostOperation]] = {h: {} for h in self.inventory}

    def add_hook(self, name: str, function: Callable) -> None:
        """Call `function(data, state)` at that point of this run: before_connect and
        before_facts (connect_all), before_deploy and after_deploy (run_ops)."""
        if name not in self.hooks:
            raise ValueError(f"unknown hook {name!r} (hooks: {', '.join(HOOK_NAMES)})")
        if function not in self.hooks[name]:
            self.hooks[name].append(function)

    def call_hooks(self, name: str) -> None:
        """Call this run's `name` hooks as f(data, state); an error in one stops the
        run, as a HookError (raised by the hook) or one naming the hook's file and line."""
        data = self.inventory.get_data()
        for function in self.hooks[name]:
            try:
                function(data, self)
            except PyinfraError:
                raise
            except Exception as error:
                raise user_error(error, function.__code__.co_filename) from None

    # -- hosts ----------------------------------------------------------------------

    def active_hosts(self) -> list[Host]:
        """Targeted hosts that are connected and have not failed."""
        return [h for h in self.targets if h.connected and not self.results[h].failed]

    def check_connected(self, action: str) -> None:
        """Raise when connect_all has not been called: `action` would silently do nothing."""
        if self.targets and not any(h.connector is not None or self.results[h].failed for h in self.targets):
            raise PyinfraError(f"{action}: no host is connected yet; call connect_all(state) first")

    def fail_host(self, host: Host, error: str) -> None:
        result = self.results[host]
        if not result.failed:
            result.failed = True
            result.error = error
            logger.error("[%s] %s", host.name, error)

    def failed_hosts(self) -> list[Host]:
        return [h for h in self.targets if self.results[h].failed]

    def too_many_failed(self) -> bool:
        """True when the share of failed hosts exceeds FAIL_PERCENT."""
        limit = self.config.FAIL_PERCENT
        if limit is None or not self.targets:
            return False
        return 100.0 * len(self.failed_hosts()) / len(self.targets) > limit

    # -- recording operations -------------------------------------------------------

    def add_operation(
        self,
        host: Host,
        key: str,
        name: str,
        location: str,
        commands: list[Command],
        global_kwargs: dict,
        position: tuple = (),
    ) -> HostOperation:
        """Record `host`'s commands for an operation.

        Every host's own order is a constraint on the deploy's order. When an existing
        operation cannot come after this host's previous one without breaking another
        host's order (a cycle), this host gets a new operation instead."""
        ops = self.host_ops[host]
        last = self._host_last.get(host)
        base_key, variant = key, 1
        while key in ops or (last is not None and key in self.op_meta and self._reaches(key, last)):
            variant += 1
            key = f"{base_key}#{variant}"
        if key not in self.op_meta:
            self.op_meta[key] = OperationMeta(key, name, location, global_kwargs, position, len(self.op_meta))
            self._op_next[key] = set()
        self.op_meta[key].add_variant(name, self._rank.get(host, 0))
        if last is not None and key not in self._op_next[last]:
            self._op_next[last].add(key)
        self._host_last[host] = key
        self._order = None
        host_op = HostOperation(commands, global_kwargs)
        host_op.name = name
        ops[key] = host_op
        return host_op

    def _reaches(self, start: str, goal: str) -> bool:
        """True when `goal` must come after `start` already."""
        seen, todo = {start}, [start]
        while todo:
            for following in self._op_next[todo.pop()]:
                if following == goal:
                    return True
                if following not in seen:
                    seen.add(following)
                    todo.append(following)
        return start == goal

    @property
    def op_order(self) -> list[str]:
        """Operations in run order: every host's own order kept; where hosts do not
        decide, by where the deploy calls them (file lines, through includes), then by
        the order they were first seen."""
        if self._order is None:
            waiting = {key: 0 for key in self.op_meta}
            for following in self._op_next.values():
                for key in following:
                    waiting[key] += 1
            ready = [
                (self.op_meta[k].position, self.op_meta[k].seen, k) for k, n in waiting.items() if n == 0
            ]
            heapq.heapify(ready)
            order = []
            while ready:
                key = heapq.heappop(ready)[2]
                order.append(key)
                for following in self._op_next[key]:
                    waiting[following] -= 1
                    if waiting[following] == 0:
                        meta = self.op_meta[following]
                        heapq.heappush(ready, (meta.position, meta.seen, following))
            self._order = order
        return self._order

    def ops_for_host(self, host: Host) -> list[tuple[OperationMeta, HostOperation]]:
        ops = self.host_ops[host]
        return [(self.op_meta[k], ops[k]) for k in self.op_order if k in ops]
