"""Which operations of a run act on something an earlier operation of the same run may
change on that host: those are made again from fresh facts when their turn comes.

Operations are built from facts read before the run. That is right for every
operation except one whose facts an earlier change touches: `files.put` then
`files.line` on the same file would plan the line from the file as it was before the
upload. What an operation touches is known from the facts it read while it was built:
a fact describes a *subject* on the host (a path, the packages, the users, the
services). An operation that changes something (it has commands) is taken to change
the subjects it read; a later operation reading one of those subjects *depends* on it.

Paths are compared with care, so that the common deploy (make a directory, then put
files into it) stays planned before the run: a change to a path that did not exist
touches that path and the directories above it that `mkdir -p` may have made, not
what is under it (a new directory is empty); a change to an existing path touches
everything under it too (a recursive chown, a removal); a fact listing a directory's
content (`find_files`) reads everything under it. What is done through a symbolic
link (one the facts found, or one an earlier operation makes) is done to its target.

An opaque operation (`server.shell`, `server.script`, `python.execute`, an operation
of the user's own: api/operation/decorator.py) may change anything: every operation after it
on the host that reads a fact depends on it. Its facts are still read in the round
trip of the commands before it (api/run/reads.py read_behind), so this costs no round
trip of its own.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyinfra.api.facts import FactKey

# Facts describing the same thing share a subject. "path": the fact's first argument is
# a path on the host. Facts not listed (and without a `subject` of their own) describe
# only themselves, with their arguments.
SUBJECTS = {
    **dict.fromkeys(
        (
            "file",
            "directory",
            "link",
            "sha1_file",
            "find_in_file",
            "find_files",
            "find_directories",
            "find_links",
            "git_branch",
            "git_pull_needed",
            "npm_local_packages",
            "pip_virtualenv_packages",
        ),
        "path",
    ),
    # Installing a package of any manager may change what another reports, and
    # which programs exist.
    **dict.fromkeys(
        (
            "apt_keys",
            "apt_sources",
            "apt_upgrades",
            "deb_package",
            "deb_packages",
            "rpm_package",
            "rpm_packages",
            "yum_updates",
            "pip_packages",
            "pip_unmet_requirements",
            "npm_packages",
            "gem_packages",
            "pkg_packages",
            "which",
        ),
        "packages",
    ),
    **dict.fromkeys(("users", "groups", "home"), "users"),
    **dict.fromkeys(
        (
            "initd_status",
            "rcd_enabled",
            "rcd_status",
            "systemd_enabled",
            "systemd_status",
            "upstart_status",
        ),
        "services",
    ),
}

# Facts whose value lists what is under a directory.
LISTINGS = frozenset({"find_files", "find_directories", "find_links", "npm_local_packages"})


def subject_of(name: str) -> str | None:
    from pyinfra.api.facts import get_fact_class

    own = getattr(get_fact_class(name), "subject", None)
    return own or SUBJECTS.get(name)


def _path(args: tuple) -> str | None:
    if not args or not isinstance(args[0], str) or not args[0]:
        return None
    return posixpath.normpath(args[0])


def read_resource(key: FactKey) -> tuple:
    """What reading the fact `key` depends on."""
    name, args = key.name, key.args
    subject = subject_of(name)
    if subject == "path":
        path = _path(args)
        if path is not None:
            return ("tree" if name in LISTINGS else "path", path)
    elif subject:
        return ("subject", subject)
    return ("fact", name, repr(args))


def changed_resource(key: FactKey, value: Any) -> tuple:
    """What an operation that read `key` (whose value was `value`) and changed
    something may have changed."""
    resource = read_resource(key)
    if resource[0] == "path":
        if value not in (None, False, [], {}):
            return ("tree", resource[1])  # it existed: what is under it may change too
        # It did not exist: made, with the directories above it that were missing too
        # (mkdir -p), and nothing under it.
        return ("new", resource[1])
    return resource


def _under(path: str, parent: str) -> bool:
    return path == parent or parent == "/" or path.startswith(parent.rstrip("/") + "/")


# What an opaque operation changes: anything.
EVERYTHING = ("everything",)


def overlaps(changed: tuple, read: tuple, absent: bool = True) -> bool:
    """Whether `changed` may change what reading `read` found; `absent`: the read found
    nothing there (only then can a new path below it have made it)."""
    if changed == EVERYTHING:
        return True
    if changed[0] in ("path", "tree", "new") and read[0] in ("path", "tree"):
        if changed[0] == "tree" and _under(read[1], changed[1]):
            return True
        if read[0] == "tree" and _under(changed[1], read[1]):
            return True
        if changed[0] == "new" and absent and _under(changed[1], read[1]):
            return True
        return changed[1] == read[1]
    return changed == read


def through_links(resource: tuple, links: dict[str, str]) -> list[tuple]:
    """`resource` and, where its path is (or is under) a symbolic link the host has or
    the run makes, the same resource at the link's target: what is changed or read
    through a link is its target."""
    found = [resource]
    if resource[0] not in ("path", "tree", "new"):
        return found
    path = resource[1]
    for _ in range(8):  # links to links, a few deep
        for link, target in links.items():
            if _under(path, link) and link != "/":
                path = posixpath.normpath(target + path[len(link) :])
                break
        else:
            break
        if (resource[0], path) in found:
            break
        found.append((resource[0], path))
    return found


def link_target(path: str, target: str) -> str:
    """Where a link at `path` to `target` (as written) leads."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(path), target))


def known_links(values: dict) -> dict[str, str]:
    """The symbolic links the facts read so far found on the host: {path: target}."""
    links = {}
    for key, value in values.items():
        if isinstance(value, dict) and value.get("link_target") and subject_of(key.name) == "path":
            path = _path(key.args)
            if path is not None:
                links[path] = link_target(path, value["link_target"])
    return links


def mark_dependent(state) -> None:
    """Set `dependent` on every host operation an earlier change of the run may
    invalidate (in run order, host by host)."""
    for host in state.targets:
        values = state.facts.values.get(host, {})
        links = known_links(values)
        changed: list[tuple] = []
        ops = [op for _, op in state.ops_for_host(host)]
        for op in ops:
            reads = [
                (each, values.get(key) is None)
                for key in op.reads
                for each in through_links(read_resource(key), links)
            ]
            op.dependent = op.remake is not None and any(
                overlaps(done, read, absent) for done in changed for read, absent in reads
            )
            if op.opaque and op.commands and EVERYTHING not in changed:
                changed.append(EVERYTHING)
            if op.dependent or op.commands:
                for key in op.reads:
                    for resource in through_links(changed_resource(key, values.get(key)), links):
                        if resource not in changed:
                            changed.append(resource)
                for change in op.changes:
                    # A link the run makes: what is done through it later is done to
                    # its target.
                    if getattr(change, "attribute", None) == "link target":
                        path = posixpath.normpath(change.path)
                        links[path] = link_target(path, change.new)
        # Which dependent operation each one's round trip can read the facts of: the
        # next one on the host, with only operations that run nothing between them.
        following = None
        for op in reversed(ops):
            op.feeds = following
            if op.dependent:
                following = op
            elif op.commands:
                following = None
