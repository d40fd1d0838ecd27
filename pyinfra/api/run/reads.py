"""Facts read at run time, folded into the round trips the run makes anyway.

A dependent operation (api/build/dependencies.py) is made again when its turn comes,
from facts read behind the commands of the operation before it (read_behind,
take_read): they travel in that operation's round trip. With them go the facts of the
next few dependent operations (fed, READ_AHEAD), which are still fresh when the ones
before them run nothing. Only what no earlier round trip brought is read on its own
(remake), in one round trip.
"""

from __future__ import annotations

import logging

from pyinfra.api.command import LOCAL_COMMANDS, Identity, StringCommand, is_login
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.facts import FactKey
from pyinfra.api.host import Host
from pyinfra.api.state import Events, HostOperation, OperationMeta, State, Status

logger = logging.getLogger("pyinfra")


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
        op.status, op.error = Status.ERROR, str(error)
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
        or isinstance(groups[-1][0], LOCAL_COMMANDS)
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

