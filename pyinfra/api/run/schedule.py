"""In which order a deploy's operations run: operation by operation, each on all its
hosts in parallel (or one host at a time: serial), or each host at its own pace, its
operations in chains (--no-wait: run/chain.py)."""

from __future__ import annotations

import gevent

from pyinfra.api.host import Host
from pyinfra.api.parallel import map_hosts
from pyinfra.api.run.chain import run_host
from pyinfra.api.run.steps import run_host_operation
from pyinfra.api.state import Events, State, Status


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
                state.host_ops[skipped][key].status = Status.SKIPPED
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
    stopped: list[bool] = []

    def stop() -> bool:
        if not stopped and state.too_many_failed():
            stopped.append(True)
        return bool(stopped)

    map_hosts(state.config.PARALLEL, state.active_hosts(), lambda host: run_host(state, host, events, stop))
    gevent.sleep(0)
    return not state.too_many_failed()

