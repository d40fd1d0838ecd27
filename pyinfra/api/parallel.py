"""Running one function on many hosts at once, PARALLEL at a time."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import gevent.pool


def map_hosts(parallel: int | None, hosts: Iterable, function: Callable[[Any], Any]) -> list:
    """Call `function(host)` for every host, at most `parallel` at once; results in order.

    The work always runs in greenlets of its own, even for one host, so the caller only
    ever waits in gevent: Ctrl-C delivered there never lands inside paramiko's locks.
    On an interruption the workers are not killed (that too would break those locks):
    closing the connections ends them."""
    hosts = list(hosts)
    if not hosts:
        return []
    pool = gevent.pool.Pool(size=parallel or None)
    return list(pool.imap(function, hosts))
