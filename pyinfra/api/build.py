"""The build: run a deploy once per host, recording operations into the State.

Each host's deploy runs in its own greenlet, and each operation it calls is built in a
greenlet of its own: the call records the operation at once and returns, and the deploy
goes on to its next line. A fact read waits; once every greenlet is waiting or done,
all the facts waited for are read at once, one round trip per host for all of that
host's facts, and everyone goes on. A deploy of operations that read facts therefore
costs one round trip, not one per fact; a deploy that looks at a fact or at an
operation's meta itself waits for it, and costs one more.

Facts describe the host before the deploy runs, so building operations side by side
gives what building them one by one would. An operation whose facts an earlier one of
the run may change is marked as depending on it, and made again when its turn comes
(api/dependencies.py).
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any, Callable

import gevent
import gevent.event

from pyinfra.api import context
from pyinfra.api.dependencies import mark_dependent
from pyinfra.api.exceptions import FactError
from pyinfra.api.host import Host
from pyinfra.api.parallel import map_hosts
from pyinfra.api.state import State


class Slot:
    """A value greenlets of the build wait for, and how many are waiting."""

    __slots__ = ("result", "waiters")

    def __init__(self) -> None:
        self.result = gevent.event.AsyncResult()
        self.waiters = 0


class Batcher:
    """Counts the build's running greenlets; when none runs, reads the facts waited for.

    A greenlet about to wait stops counting itself; whoever fills the slot it waits on
    counts its waiters again before they wake, so the count only reaches zero when
    every greenlet is really stuck (or done)."""

    def __init__(self, state: State):
        self.state = state
        self.running = 0
        self.idle = gevent.event.Event()
        # host -> {fact key: (request, slot)}: what the next round trip reads.
        self.pending: dict[Host, dict[tuple, tuple[Any, Slot]]] = {}
        self.greenlets: dict[Any, Host] = {}
        # The first error of each host; the build raises the first host's.
        self.errors: dict[Host, BaseException] = {}

    def owns(self, host: Host) -> bool:
        """True when the current greenlet builds for `host`."""
        return self.greenlets.get(gevent.getcurrent()) is host

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

    def defer(self, host: Host, function: Callable[[], Any]) -> Callable[[], Any]:
        """Run `function` (an operation's build) in a greenlet of its own; the result
        is a callable waiting for (and returning) what `function` returned."""
        slot = Slot()
        self.running += 1
        greenlet = gevent.spawn(self._run_deferred, host, function, slot)
        self.greenlets[greenlet] = host
        return lambda: self.wait(slot)

    def _run_deferred(self, host: Host, function: Callable[[], Any], slot: Slot) -> None:
        try:
            with self._bound(host):
                value = function()
        except gevent.GreenletExit:
            raise
        except BaseException as error:
            if self._host_failed(host, error):
                self.fill(slot, [])  # the host failed and says why; it runs nothing
            else:
                self._note_error(host, error)
                self.fill(slot, error=error)
        else:
            self.fill(slot, value)
        finally:
            self._stopped()

    def _run_host(self, host: Host, function: Callable[[Host], None]) -> None:
        try:
            with self._bound(host):
                function(host)
        except gevent.GreenletExit:
            raise
        except BaseException as error:  # raised in the caller's greenlet, by run()
            self._note_error(host, error)
        finally:
            self._stopped()

    def _bound(self, host: Host) -> ExitStack:
        stack = ExitStack()
        stack.enter_context(context.state.bind(self.state))
        stack.enter_context(context.inventory.bind(self.state.inventory))
        stack.enter_context(context.host.bind(host))
        return stack

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
        function: Callable[[Host], None],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        if not hosts:
            return
        self.running = len(hosts)
        greenlets = []
        for host in hosts:
            greenlet = gevent.spawn(self._run_host, host, function)
            self.greenlets[greenlet] = host
            greenlets.append(greenlet)
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
        if self.errors:
            first = next(h for h in hosts if h in self.errors)
            raise self.errors[first]


def build(
    state: State,
    function: Callable[[Host], None],
    hosts: list[Host] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> None:
    """Call `function(host)` for every connected, unfailed target (or `hosts`), with
    `pyinfra.host`, `inventory` and `state` bound, batching fact reads across hosts."""
    if hosts is None:
        hosts = state.active_hosts()
    batcher = Batcher(state)
    state.facts.batcher = batcher
    try:
        batcher.run(hosts, function, on_progress)
    finally:
        state.facts.batcher = None
    mark_dependent(state)
