"""git checkouts."""

from __future__ import annotations

import posixpath
import re

from pyinfra.api import OperationError, operation, quote
from pyinfra.modules import (
    files,
    unknown_operation,  # noqa: E402
)
from pyinfra.modules._files import path_arg


def ssh_host(source: str) -> str | None:
    """The host an SSH git URL reaches: 'git@github.com:a/b.git', 'ssh://git@h:22/r'."""
    match = re.match(r"^ssh://(?:[^@/]+@)?([^:/]+)", source)
    if match:
        return match.group(1)
    match = re.match(r"^(?:[^@/:]+@)?([^:/]+):(?!//)", source)
    if match:
        return match.group(1)
    return None


@operation
def repo(
    state,
    host,
    source,
    target,
    branch="master",
    pull=True,
    rebase=False,
    user=None,
    group=None,
    use_ssh_user=False,
    ssh_keyscan=False,
):
    """Clone a git repository, keep it on a branch and pull it.

    + source: the repository's URL (or path on the host)
    + target: directory of the checkout on the host
    + branch: branch to check out
    + pull: pull when the branch at the source has commits the checkout lacks
    + rebase: pull with ``--rebase``
    + user: user to own the checkout (chown -R after a clone or pull)
    + group: group to own the checkout
    + use_ssh_user: make the host's SSH user (``host.data.ssh_user``) own it
    + ssh_keyscan: add the source's SSH host key to ~/.ssh/known_hosts first, when it
      is not known yet

    git refuses to work in a checkout owned by another user: with ``user``, run the
    operation as that user (``sudo_user``) for later pulls.
    """
    source, target = str(source), str(target)
    if not branch or str(branch).startswith("-"):
        raise OperationError(f"not a branch name: {branch!r}")
    if use_ssh_user:
        user = host.data.ssh_user

    if ssh_keyscan:
        remote_host = ssh_host(source)
        if remote_host is None:
            raise OperationError(f"ssh_keyscan needs an SSH source, not {source!r}")
        # ssh-keygen -F fails both for "not known" and for "no known_hosts yet".
        known = (
            f"if ssh-keygen -F {quote(remote_host)} >/dev/null 2>&1; then echo known; else echo unknown; fi"
        )
        if host.fact.command(known) != "known":
            yield f"mkdir -p ~/.ssh && ssh-keyscan {quote(remote_host)} >> ~/.ssh/known_hosts"

    changed = False
    if host.fact.directory(posixpath.join(target, ".git")) is None:
        info = host.fact.directory(target)
        if info is False:
            raise OperationError(f"{target} exists and is not a directory")
        if info is None:
            yield f"mkdir -p {path_arg(target)}"
        yield f"git clone --branch {quote(branch)} -- {quote(source)} {path_arg(target)}"
        changed = True
    else:
        current = host.fact.git_branch(target)
        if current != branch:
            yield f"cd {path_arg(target)} && git fetch && git checkout {quote(branch)}"
            changed = True
        if pull and (changed or host.fact.git_pull_needed(target, source, branch) is not False):
            yield f"cd {path_arg(target)} && git pull{' --rebase' if rebase else ''}"
            changed = True

    if user or group:
        if changed:
            owner = f"{user}:{group}" if user and group else user or f":{group}"
            yield f"chown -R {quote(owner)} {path_arg(target)}"
        else:
            yield from files.directory.operation_function(
                state, host, target, user=user, group=group, recursive=True
            )


__getattr__ = unknown_operation(__name__)
