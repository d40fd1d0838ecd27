"""Running one function on many hosts at once, PARALLEL at a time."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import gevent.pool


def map_hosts(parallel: int | None, hosts: Iterable, function: Callable[[Any], Any]) -> list:
    """Call `function(host)` for every host, at most `parallel` at once; results in order."""
    hosts = list(hosts)
    if not hosts:
        return []
    if len(hosts) == 1:
        return [function(hosts[0])]
    pool = gevent.pool.Pool(size=parallel or None)
    try:
        return list(pool.imap(function, hosts))
    except BaseException:
        # Interrupted (Ctrl-C) or failed: stop the other hosts' greenlets too.
        pool.kill(block=False)
        raise
