"""One operation on one host, in two parts: what the build planned (Plan: its commands,
the facts they were made from, the file changes they make, whether they must be made
again when their turn comes) and what running it did (Result: status, error, attempts,
each command's result). HostOperation holds both and is what a deploy gets back (0.1's
operation meta: `.commands`, `.changed`), with each part's fields readable on it."""

from __future__ import annotations

from enum import Enum
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Callable

from pyinfra.api.command import Command

if TYPE_CHECKING:
    from pyinfra.api.facts import FactKey


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


class Plan:
    """What the build made for one operation on one host."""

    __slots__ = (
        "commands",
        "reads",
        "changes",
        "remake",
        "decide",
        "opaque",
        "dependent",
        "feeds",
        "fresh",
        "ahead",
    )

    def __init__(self, commands: list[Command]):
        self.commands = commands
        # Keys of the facts the build read for it, in the FactCache.
        self.reads: list[FactKey] = []
        # What its commands change in files, for diffs (api/diff.py).
        self.changes: list = []
        # Makes the commands again from the facts as they are now (None: it cannot).
        self.remake: Callable[[], list[Command]] | None = None
        # Commands that decide on the host what to do, with no fact read first (an
        # --no-wait chain takes a dependent operation along with them): None when the
        # operation has none for these arguments. They print UNCHANGED when they find
        # nothing to do (Result.unchanged_on_host).
        self.decide: Callable[[], list[Command] | None] | None = None
        # What its commands change is unknown (a shell command, a script, a callback):
        # every later operation on the host depends on it (api/build/dependencies.py).
        self.opaque = False
        # An earlier operation of the run may change what it read: it is made again
        # from fresh facts when its turn comes (api/build/dependencies.py).
        self.dependent = False
        # The dependent operation that runs next on the host when this one changed
        # something: its facts are read behind this one's commands, in their round trip.
        self.feeds: HostOperation | None = None
        # Keys of `reads` read again since the last change before it.
        self.fresh: set[FactKey] = set()
        # Keys of `reads` read before the operation feeding it ran: fresh too when
        # that one turns out to run nothing (api/run/reads.py).
        self.ahead: set[FactKey] = set()


class Result:
    """What running one operation on one host did."""

    __slots__ = ("status", "error", "attempts", "results", "unchanged_on_host")

    def __init__(self) -> None:
        # A Status once it started; None: never started.
        self.status: Status | None = None
        # Why it failed, or why it was not made (a failed build); None: it did not.
        self.error: str | None = None
        # How many times its commands ran (retries= runs a failed operation again).
        self.attempts = 0
        # What each command of its last attempt did (CommandResult: exit status,
        # stdout, stderr), in order, ending with the first that failed.
        self.results: list = []
        # Its commands decided on the host and found nothing to do (Plan.decide).
        self.unchanged_on_host = False


def _forward(part: str, name: str) -> property:
    # The getter is attrgetter's C code: read at every step of a run, on every host.
    def set_(op: HostOperation, value: Any) -> None:
        setattr(getattr(op, part), name, value)

    return property(attrgetter(f"{part}.{name}"), set_, doc=f"`{part}.{name}`")


class HostOperation:
    """One operation on one host: its plan and its result; the meta a deploy file gets
    back.

    Once the build is over its `commands` are known: those made, or [] with `error`
    saying why none were (a failed build). While the build makes them, the deploy
    holds a build.Pending in its place, which waits for them."""

    __slots__ = ("plan", "result", "global_kwargs", "name")

    def __init__(self, commands: list[Command], global_kwargs: dict[str, Any]):
        self.plan = Plan(commands)
        self.result = Result()
        self.global_kwargs = global_kwargs
        # The operation's name as this host's arguments render it (no variant count):
        # what a line about this host alone says.
        self.name = ""

    for _name in Plan.__slots__:
        locals()[_name] = _forward("plan", _name)
    for _name in Result.__slots__:
        locals()[_name] = _forward("result", _name)
    del _name

    @property
    def changed(self) -> bool:
        return bool(self.plan.commands) and not self.result.unchanged_on_host

    @property
    def success(self) -> bool:
        """It ran and every command succeeded (False: failed, ignored or not run)."""
        return self.result.status == Status.SUCCESS

    def __repr__(self) -> str:
        return f"HostOperation(commands={self.plan.commands!r}, status={self.result.status!r})"
