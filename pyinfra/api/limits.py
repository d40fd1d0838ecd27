"""The process limits a deploy to many hosts runs into: open files (one SSH connection
per host, all open for the whole run)."""

from __future__ import annotations

import logging

from pyinfra.api.exceptions import ConnectError

logger = logging.getLogger("pyinfra")

# Each connected host holds one socket for the whole run (its shells and channels
# travel inside it); the interpreter, the deploy's files being uploaded, the event
# loop and logging take a few more (7 measured at 1,000 hosts, scripts/bench).
FILES_PER_HOST = 1
FILES_RESERVED = 32


def open_files_needed(hosts: int) -> int:
    return hosts * FILES_PER_HOST + FILES_RESERVED


def ensure_open_files(hosts: int) -> None:
    """Make room for `hosts` connections at once: the soft limit of open files
    (RLIMIT_NOFILE, often 1024) is raised to the hard one when it is too low.
    Raises ConnectError, saying what to do, when even the hard limit is too low."""
    try:
        import resource
    except ImportError:  # not a POSIX system: no such limit to raise
        return
    needed = open_files_needed(hosts)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise ConnectError(
            f"{hosts} hosts need about {needed} open files (one connection each), but this "
            f"process may open at most {hard} (the hard limit, `ulimit -Hn`): raise it "
            "(`ulimit -n`, nofile in /etc/security/limits.conf, LimitNOFILE= for a systemd "
            "service) or deploy to fewer hosts at a time (--limit)"
        )
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as error:
        raise ConnectError(
            f"{hosts} hosts need about {needed} open files, but the limit is {soft} and "
            f"raising it to {hard} failed: {error}"
        ) from None
    logger.debug("open files limit raised from %s to %s for %s hosts", soft, hard, hosts)
