"""pyinfra 0.1's API calls that add an operation for hosts from a program:
`add_op(state, server.user, 'deploy', ...)` and `add_limited_op`. Each builds the call
for every host (api/build), their facts read together."""

from __future__ import annotations

from typing import Any, Callable

from pyinfra.api import context
from pyinfra.api.build import build
from pyinfra.api.exceptions import OperationError
from pyinfra.api.operation.callsite import user_frames
from pyinfra.api.state import HostOperation, State


def add_op(state: State, op_func: Callable, *args: Any, **kwargs: Any) -> dict[str, HostOperation]:
    """Add an operation for every connected host of the state (pyinfra 0.1's API):
    `add_op(state, server.user, 'deploy', home='/home/deploy', sudo=True)`. A set as
    first argument names it. Returns {host name: HostOperation}: its `.commands` and
    `.changed` now, and once run_ops has run it, `.success`, `.results` and `.attempts`."""
    state.check_connected("add_op")
    return _add(state, op_func, state.active_hosts(), args, kwargs)


def add_limited_op(
    state: State, op_func: Callable, hosts: Any, *args: Any, **kwargs: Any
) -> dict[str, HostOperation]:
    """add_op for `hosts` only (a Host, or a list such as `inventory.db`); those of
    them not connected, or failed, are left out."""
    if not isinstance(hosts, (list, tuple, set, frozenset)):
        hosts = [hosts]
    state.check_connected("add_limited_op")
    wanted = {context.unwrap(host) for host in hosts}
    return _add(state, op_func, [h for h in state.active_hosts() if h in wanted], args, kwargs)


def _add(state: State, op_func: Callable, hosts: list, args: tuple, kwargs: dict) -> dict[str, HostOperation]:
    if not getattr(op_func, "is_operation", False):
        raise OperationError(f"{op_func!r} is not an operation (an @operation function of pyinfra.modules)")
    # Each host's call is built beside the others (their facts read together); the
    # operation's identity is this call site.
    made = build(state, lambda host: op_func(state, host, *args, **kwargs), hosts, entry_frames=user_frames())
    return {host.name: made[host] for host in hosts if host in made}

