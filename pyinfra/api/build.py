"""The build: run a deploy once per host, recording operations into the State.

Each host's deploy runs in its own greenlet. When a host reads a fact it is not
holding, it waits; once every host is waiting or done, all waiting hosts' facts are
read at once (in parallel, one command each), and they go on. So the build costs one
round trip per fact a host reads, whatever the number of hosts, and every host reads
only its own facts with its own arguments.
"""

from __future__ import annotations

from typing import Any, Callable

import gevent
import gevent.event

from pyinfra.api import context
from pyinfra.api.exceptions import FactError
from pyinfra.api.host import Host
from pyinfra.api.parallel import map_hosts
from pyinfra.api.state import State


class Batcher:
    def __init__(self, state: State):
        self.state = state
        self.running = 0
        self.idle = gevent.event.Event()
        self.pending: dict[Host, tuple[Any, gevent.event.AsyncResult]] = {}
        self.greenlets: dict[Any, Host] = {}

    def owns(self, host: Host) -> bool:
        """True when the current greenlet is `host`'s build."""
        return self.greenlets.get(gevent.getcurrent()) is host

    def request(self, host: Host, fact_request) -> Any:
        result = gevent.event.AsyncResult()
        self.pending[host] = (fact_request, result)
        self._stopped()
        return result.get()

    def _stopped(self) -> None:
        self.running -= 1
        if self.running == 0:
            self.idle.set()

    def _run_host(self, host: Host, function: Callable[[Host], None], errors: dict) -> None:
        try:
            with (
                context.state.bind(self.state),
                context.inventory.bind(self.state.inventory),
                context.host.bind(host),
            ):
                function(host)
        except gevent.GreenletExit:
            raise
        except FactError:
            if not self.state.results[host].failed:
                errors[host] = _current_error()
        except BaseException:  # raised in the caller's greenlet, below
            errors[host] = _current_error()
        finally:
            self._stopped()

    def run(
        self,
        hosts: list[Host],
        function: Callable[[Host], None],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        errors: dict[Host, BaseException] = {}
        if not hosts:
            return
        self.running = len(hosts)
        greenlets = []
        for host in hosts:
            greenlet = gevent.spawn(self._run_host, host, function, errors)
            self.greenlets[greenlet] = host
            greenlets.append(greenlet)
        try:
            while True:
                self.idle.wait()
                self.idle.clear()
                if errors:
                    break
                if not self.pending:
                    break  # every host is done
                pending, self.pending = self.pending, {}
                cache = self.state.facts
                values = map_hosts(
                    self.state.config.PARALLEL,
                    list(pending),
                    lambda host: cache.read(pending[host][0]),
                )
                self.running += len(pending)
                for host, value in zip(pending, values):
                    pending[host][1].set(value)
                if on_progress:
                    on_progress(sum(1 for g in greenlets if g.dead), len(hosts))
        finally:
            gevent.killall([g for g in greenlets if not g.dead])
        if errors:
            first = next(h for h in hosts if h in errors)
            raise errors[first]


def _current_error() -> BaseException:
    import sys

    return sys.exc_info()[1]


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
