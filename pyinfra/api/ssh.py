"""Connecting a deploy's hosts: `connect_all(state)`, pyinfra 0.1's API call."""

from __future__ import annotations

import logging

from gevent import monkey

from pyinfra.api import run
from pyinfra.api.exceptions import DeployError
from pyinfra.api.limits import ensure_open_files
from pyinfra.api.state import State

logger = logging.getLogger("pyinfra")

_warned_serial = [False]


def warn_if_serial(state: State) -> None:
    """Without gevent's patching, opening a connection blocks every other host's (a
    host's commands still overlap with the others'): say so once per process, when
    there is more than one host to connect."""
    if _warned_serial[0] or monkey.is_module_patched("socket") or len(state.targets) < 2:
        return
    _warned_serial[0] = True
    logger.warning(
        "gevent is not monkey-patched: hosts are connected one at a time. To connect "
        "them in parallel, call gevent.monkey.patch_all() before importing anything else."
    )


def connect_all(state: State) -> None:
    """Connect every target of the state at once, between the run's before_connect and
    before_facts hooks. A host that cannot be reached is failed, with the reason in
    `state.results[host].error`; `state.active_hosts()` lists the connected ones.

    Raises DeployError when more than FAIL_PERCENT of the hosts failed to connect
    (before_facts hooks are not called then), ConnectError when the process may not
    open a connection to every host (api/limits.py), and what a hook raises."""
    ensure_open_files(len(state.targets))
    warn_if_serial(state)
    state.call_hooks("before_connect")
    events = state.events
    run.connect_all(state, on_progress=lambda done, total: events.hosts_progress("connect", done, total))
    events.hosts_connected(state)
    if state.too_many_failed():
        raise DeployError("too many hosts failed to connect (FAIL_PERCENT), stopping")
    state.call_hooks("before_facts")
