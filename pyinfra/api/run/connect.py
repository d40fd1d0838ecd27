"""Phase 3 and the end of a run: connecting every host at once, stopping what runs
on them (Ctrl-C, a signal) and closing their connections."""

from __future__ import annotations

import logging
import random

import gevent
import gevent.event
import gevent.lock

from pyinfra.api import connectors
from pyinfra.api.connectors.base import KILL_GRACE, Connector
from pyinfra.api.exceptions import ConnectError, Unreachable
from pyinfra.api.host import Host
from pyinfra.api.parallel import map_hosts
from pyinfra.api.state import State, Status

logger = logging.getLogger("pyinfra")

# Handshakes in flight at once. Key exchange costs CPU on both ends: started all at once
# on hundreds of hosts, each would take long enough to run past TIMEOUT, which counts
# from the start of that host's own attempt.
CONNECT_AT_ONCE = 64

# TCP connections started ahead of their handshake, per handshake slot: a host's
# connection is up by the time a slot frees, and a blackholed host's wait (TIMEOUT, for
# nothing) runs beside the others' handshakes, not before them. Bounded, so that no
# connection waits for its handshake long enough for the server to drop it
# (LoginGraceTime).
AHEAD_PER_SLOT = 4

# A host whose TCP connection is not up this many seconds after dialling gives its
# place ahead to the next host and waits apart. A SYN and its answer: one round trip.
SLOW_DIAL = 0.5


def connect_all(state: State, hosts: list[Host] | None = None, on_progress=None) -> None:
    """Connect every targeted host at once; a host that cannot be reached is failed.
    `on_progress(done, total)` is called as hosts finish."""
    hosts = hosts if hosts is not None else state.targets
    done = [0]
    timeout = state.config.TIMEOUT

    parallel = min(state.config.PARALLEL or CONNECT_AT_ONCE, CONNECT_AT_ONCE)
    slots = gevent.lock.Semaphore(parallel)
    ahead = min(len(hosts), parallel * AHEAD_PER_SLOT) or 1
    places = gevent.lock.Semaphore(ahead)
    # Shells open while connecting only when every host connects at once: a session
    # starting (the login shell's rc files run then) must not delay handshakes still
    # waiting for their turn; with more hosts they open at the first fact.
    prepare = len(hosts) <= parallel

    # The first hosts' TCP connections start now, before the SSH library is loaded:
    # the handshakes run during the import (connectors/ssh/dial.py).
    dials = connectors.dial_first(hosts[:ahead], timeout) if hosts else {}

    for host in hosts:
        state.connecting[host] = gevent.event.Event()

    def log_in(connector: Connector, dialled) -> None:
        if dialled is not None:
            connector.connect(dialled)
        else:
            connector.connect()
        if prepare:
            connector.prepare()

    def in_turn(host: Host, connector: Connector) -> None:
        """One attempt: the TCP connection started among those ahead (or apart when it
        is slow to answer), the login in a handshake's slot."""
        places.acquire()
        placed, dialled = True, None
        try:
            dialled = dials.pop(host) if host in dials else connectors.dial(host, timeout)
            if dialled is not None and not dialled.wait(SLOW_DIAL):
                places.release()  # slow, or blackholed: it waits apart
                placed = False
                if not dialled.wait():
                    log_in(connector, dialled)  # no answer within TIMEOUT: says so at once
                    return
            with slots:
                if placed:
                    places.release()
                    placed = False
                log_in(connector, dialled)
        finally:
            if placed:
                places.release()
            if dialled is not None:
                dialled.close()

    def connect(host: Host) -> None:
        try:
            connector = connectors.make_connector(host, state.config, on_output=state.on_output)
            retries, attempt = connector.connect_retries(), 0
            while True:
                try:
                    in_turn(host, connector)
                    break
                except Unreachable as error:
                    if attempt >= retries:
                        if attempt:
                            raise ConnectError(f"{error} (after {attempt + 1} attempts)") from None
                        raise
                    attempt += 1
                    # Randomised: hosts refused together (a reboot, MaxStartups) do
                    # not all come back at once. No slot is held meanwhile.
                    pause = random.uniform(0.5, 1.0) * min(2 ** (attempt - 1), 8)
                    logger.debug("[%s] %s; trying again in %.1fs", host.name, error, pause)
                    gevent.sleep(pause)
        except ConnectError as error:
            state.fail_host(host, str(error))
        else:
            host.connector = connector
        finally:
            state.connecting.pop(host).set()
            done[0] += 1
            if on_progress:
                on_progress(done[0], len(hosts))

    map_hosts(None, hosts, connect)


def interrupt_all(state: State) -> None:
    """Ctrl-C: nothing new starts on any host; the commands in flight (operations and
    fact reads) are stopped on their hosts, each with its whole process tree. Returns
    once the operations in flight know how they ended, or after TIMEOUT (+ KILL_GRACE)
    seconds: those still "running" then are shown as interrupted while running."""
    state.interrupted = True
    hosts = [host for host in state.inventory if host.connector is not None]
    with gevent.Timeout(state.config.TIMEOUT + KILL_GRACE, False):
        map_hosts(None, hosts, lambda host: host.connector.interrupt())
        while any(op.status == Status.RUNNING for ops in state.host_ops.values() for op in ops.values()):
            gevent.sleep(0.05)


def disconnect_all(state: State) -> None:
    """Close every connection; a close that does not finish in 5 s is abandoned, so
    leaving (even after Ctrl-C) never hangs."""
    for host in state.inventory:
        if host.connector is not None:
            with gevent.Timeout(5, False):
                host.connector.close()

