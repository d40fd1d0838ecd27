"""The build: run a deploy once per host, recording operations into the State.

Each host's deploy runs in its own greenlet, and each operation it calls is built in a
greenlet of its own: the call records the operation at once and returns a `Pending`
(what the deploy reads of it waits until it is made), and the deploy goes on to its
next line. A fact read waits; once every greenlet is waiting or done, all the facts
waited for are read at once, one round trip per host for all of that host's facts, and
everyone goes on. A deploy of operations that read facts therefore costs one round
trip, not one per fact; a deploy that looks at a fact or at an operation's meta itself
waits for it, and costs one more. When build() returns, every operation is complete.

Facts describe the host before the deploy runs, so building operations side by side
gives what building them one by one would. An operation whose facts an earlier one of
the run may change is marked as depending on it, and made again when its turn comes
(api/build/dependencies.py).
"""

from __future__ import annotations

from typing import Any, Callable

import gevent
import gevent.event

from pyinfra.api import context
from pyinfra.api.build.dependencies import mark_dependent
from pyinfra.api.command import Command
from pyinfra.api.exceptions import FactError, PyinfraError
from pyinfra.api.host import Host
from pyinfra.api.parallel import map_hosts
from pyinfra.api.state import HostOperation, State


class Slot:
    """A value greenlets of the build wait for, and how many are waiting."""

    __slots__ = ("result", "waiters")

    def __init__(self) -> None:
        self.result = gevent.event.AsyncResult()
        self.waiters = 0


class Pending:
    """What an operation call returns to the deploy while the build makes it: reading
    anything of it waits until it is made (that costs the deploy a round trip), then
    reads its HostOperation. Once the build is over nothing waits."""

    __slots__ = ("_build", "_op")

    def __init__(self, build: Build, host_op: HostOperation):
        object.__setattr__(self, "_build", build)
        object.__setattr__(self, "_op", host_op)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._build.complete(self._op), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._build.complete(self._op), name, value)

    def __repr__(self) -> str:
        return repr(self._build.complete(self._op))


def operation_of(value: Any) -> Any:
    """`value`, a Pending replaced by its HostOperation."""
    return value._op if isinstance(value, Pending) else value


class Build:
    """One build: its state, the tasks of its greenlets (api/context.py), the facts
    they wait for and the operations they make.

    It counts its running greenlets; when none runs, it reads the facts waited for. A
    greenlet about to wait stops counting itself; whoever fills the slot it waits on
    counts its waiters again before they wake, so the count only reaches zero when
    every greenlet is really stuck (or done)."""

    def __init__(self, state: State, entry_frames: list[tuple[str, int]] | None = None):
        self.state = state
        # (file, line) of the user's frames where the build was entered (add_op's
        # caller): the outer part of every operation's call site (api/operation/decorator.py).
        self.entry_frames = entry_frames or []
        self.running = 0
        self.idle = gevent.event.Event()
        # host -> {fact key: (request, slot)}: what the next round trip reads.
        self.pending: dict[Host, dict[tuple, tuple[Any, Slot]]] = {}
        self.greenlets: list[gevent.Greenlet] = []
        # The first error of each host; the build raises the first host's.
        self.errors: dict[Host, BaseException] = {}
        # Operations made in greenlets of their own, and where their commands arrive.
        self.making: dict[HostOperation, Slot] = {}

    def task(self, host: Host) -> context.Task:
        return context.Task(self.state, self.state.inventory, host, self)

    # -- waiting and waking ---------------------------------------------------------

    def wait(self, slot: Slot) -> Any:
        if not slot.result.ready():
            slot.waiters += 1
            self._stopped()
        return slot.result.get()

    def fill(self, slot: Slot, value: Any = None, error: BaseException | None = None) -> None:
        self.running += slot.waiters
        slot.waiters = 0
        if error is not None:
            slot.result.set_exception(error)
        else:
            slot.result.set(value)

    def _stopped(self) -> None:
        self.running -= 1
        if self.running == 0:
            self.idle.set()

    # -- facts and operations -------------------------------------------------------

    def request(self, host: Host, key: tuple, make_request: Callable[[], Any]) -> Any:
        """The value of a fact, read in the next round trip with everything else
        waited for; two greenlets asking for the same fact share one read."""
        waiting = self.pending.setdefault(host, {})
        if key not in waiting:
            waiting[key] = (make_request(), Slot())
        return self.wait(waiting[key][1])

    def defer(self, host: Host, host_op: HostOperation, function: Callable[[], list[Command]]) -> Pending:
        """Make `host_op`'s commands with `function` in a greenlet of its own; what the
        deploy reads of it meanwhile waits until they are made."""
        slot = Slot()
        self.running += 1
        self.making[host_op] = slot
        self.greenlets.append(gevent.spawn(self._run_deferred, host, host_op, function, slot))
        return Pending(self, host_op)

    def commands(self, host_op: HostOperation) -> list[Command]:
        """`host_op`'s commands, once made (inside the build, this waits)."""
        slot = self.making.get(host_op)
        if slot is not None:
            self.wait(slot)
        return host_op.commands

    def complete(self, host_op: HostOperation) -> HostOperation:
        self.commands(host_op)
        return host_op

    def _run_deferred(
        self, host: Host, host_op: HostOperation, function: Callable[[], list[Command]], slot: Slot
    ) -> None:
        try:
            with context.working(self.task(host)):
                host_op.commands = function()
        except gevent.GreenletExit:
            raise
        except BaseException as error:
            if self._host_failed(host, error):
                self.fill(slot)  # the host failed and says why; it runs nothing
            else:
                self._note_error(host, error)
                self.fill(slot, error=error)
        else:
            self.fill(slot)
        finally:
            self._stopped()

    def _run_host(self, host: Host, function: Callable[[Host], Any], returned: dict[Host, Any]) -> None:
        try:
            with context.working(self.task(host)):
                returned[host] = operation_of(function(host))
        except gevent.GreenletExit:
            raise
        except BaseException as error:  # raised in the caller's greenlet, by run()
            self._note_error(host, error)
        finally:
            self._stopped()

    def _host_failed(self, host: Host, error: BaseException) -> bool:
        """The error only says the host failed (connection lost, fact timed out)."""
        return isinstance(error, FactError) and self.state.results[host].failed

    def _note_error(self, host: Host, error: BaseException) -> None:
        if not self._host_failed(host, error):
            self.errors.setdefault(host, error)

    # -- the loop -------------------------------------------------------------------

    def run(
        self,
        hosts: list[Host],
        function: Callable[[Host], Any],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> dict[Host, Any]:
        returned: dict[Host, Any] = {}
        if not hosts:
            return returned
        self.running = len(hosts)
        greenlets = [gevent.spawn(self._run_host, host, function, returned) for host in hosts]
        self.greenlets.extend(greenlets)
        try:
            while True:
                self.idle.wait()
                self.idle.clear()
                if self.errors or not self.pending:
                    break  # an error, or every greenlet is done
                pending, self.pending = self.pending, {}
                cache = self.state.facts
                values = map_hosts(
                    self.state.config.PARALLEL,
                    list(pending),
                    lambda host: cache.read_many([request for request, _ in pending[host].values()]),
                )
                for host, host_values in zip(pending, values):
                    for (_, slot), value in zip(pending[host].values(), host_values):
                        self.fill(slot, value)
                if on_progress:
                    on_progress(sum(1 for g in greenlets if g.dead), len(hosts))
        finally:
            gevent.killall([g for g in self.greenlets if not g.dead])
            self._settle(hosts)
        if self.errors:
            raise self.errors[self._first_failed(hosts)]
        return returned

    def _first_failed(self, hosts: list[Host]) -> Host:
        return next(h for h in hosts if h in self.errors)

    def _settle(self, hosts: list[Host]) -> None:
        """Once the build is over, however it ended, every operation's commands are
        known: those made, or none with the reason recorded in its `error`. Nothing is
        left to wait for (waiting then would never end: LoopExit, or a hang)."""
        stopped = "not built: the build stopped"
        if self.errors:
            host = self._first_failed(hosts)
            stopped += f" ({host.name}: {describe_error(self.errors[host])})"
        for host_op, slot in self.making.items():
            if not slot.result.ready():
                host_op.commands, host_op.error = [], stopped
            elif slot.result.exception is not None:
                host_op.commands, host_op.error = [], describe_error(slot.result.exception)
        self.making = {}


def describe_error(error: BaseException) -> str:
    """An error's first line, as the user reads it: ours by their message, any other
    by its type too."""
    text = str(error) if isinstance(error, PyinfraError) else f"{type(error).__name__}: {error}"
    return text.splitlines()[0] if text else type(error).__name__


def build(
    state: State,
    function: Callable[[Host], Any],
    hosts: list[Host] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    entry_frames: list[tuple[str, int]] | None = None,
) -> dict[Host, Any]:
    """Call `function(host)` for every connected, unfailed target (or `hosts`), with
    `pyinfra.host`, `inventory` and `state` bound, batching fact reads across hosts.
    Returns {host: what `function` returned}; once it returns, every operation of the
    build is complete (an operation it returned is its HostOperation)."""
    if hosts is None:
        hosts = state.active_hosts()
    returned = Build(state, entry_frames).run(hosts, function, on_progress)
    mark_dependent(state)
    return returned
