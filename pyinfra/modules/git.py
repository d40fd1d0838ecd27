"""git checkouts."""

from __future__ import annotations

import posixpath
import re

from pyinfra.api import OperationError, StringCommand, operation, quote
from pyinfra.modules import (
    files,
    unknown_operation,
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
    + use_ssh_user: run git as the SSH login user, without the operation's sudo, as
      0.1 did: sudo does not pass on a forwarded SSH agent, the login keeps it (see
      below)
    + ssh_keyscan: add the source's SSH host key to ~/.ssh/known_hosts first, when it
      is not known yet

    git refuses to work in a checkout owned by another user: with ``user``, run the
    operation as that user (``sudo_user``) for later pulls.

    With ``use_ssh_user`` and ``sudo=True``: the checkout is given to the SSH user
    (``chown -R $SUDO_USER``), git clones, checks out and pulls as that user, then
    ``user``/``group`` own the tree (it stays the SSH user's without them). The branch
    and whether the source has new commits are asked as the SSH user too, so an
    existing checkout is checked out (when on another branch) and pulled on every
    deploy, as in 0.1; ``ssh_keyscan`` adds the key to the SSH user's known_hosts.
    """
    source, target = str(source), str(target)
    if not branch or str(branch).startswith("-"):
        raise OperationError(f"not a branch name: {branch!r}")

    if ssh_keyscan:
        remote_host = ssh_host(source)
        if remote_host is None:
            raise OperationError(f"ssh_keyscan needs an SSH source, not {source!r}")
        scan = f"mkdir -p ~/.ssh && ssh-keyscan {quote(remote_host)} >> ~/.ssh/known_hosts"
        if use_ssh_user:
            # The SSH user's known_hosts: checked where it runs, not through a fact
            # (facts are read with the operation's sudo).
            yield StringCommand(
                f"ssh-keygen -F {quote(remote_host)} >/dev/null 2>&1 || {{ {scan}; }}", login=True
            )
        else:
            # ssh-keygen -F fails both for "not known" and for "no known_hosts yet".
            check = f"ssh-keygen -F {quote(remote_host)} >/dev/null 2>&1"
            known = f"if {check}; then echo known; else echo unknown; fi"
            if host.fact.command(known) != "known":
                yield scan

    git_commands = []
    if host.fact.directory(posixpath.join(target, ".git")) is None:
        info = host.fact.directory(target)
        if info is False:
            raise OperationError(f"{target} exists and is not a directory")
        if info is None:
            yield f"mkdir -p {path_arg(target)}"
        git_commands.append(f"git clone --branch {quote(branch)} -- {quote(source)} {path_arg(target)}")
    elif use_ssh_user:
        # Everything git knows is asked as the SSH user, once the tree is theirs: git
        # run as root refuses a checkout another user owns, and only the SSH user may
        # reach the source.
        checkout = f"git fetch && git checkout {quote(branch)}"
        on_branch = f'[ "$(git symbolic-ref --short -q HEAD)" = {quote(branch)} ]'
        command = f"cd {path_arg(target)} && {{ {on_branch} || {{ {checkout}; }}; }}"
        if pull:
            command += f" && git pull{' --rebase' if rebase else ''}"
        git_commands.append(command)
    else:
        current = host.fact.git_branch(target)
        if current != branch:
            git_commands.append(f"cd {path_arg(target)} && git fetch && git checkout {quote(branch)}")
        if pull and (git_commands or host.fact.git_pull_needed(target, source, branch) is not False):
            git_commands.append(f"cd {path_arg(target)} && git pull{' --rebase' if rebase else ''}")
    changed = bool(git_commands)

    if use_ssh_user and git_commands:
        # Under sudo the SSH user is $SUDO_USER; without sudo git runs as the owner
        # anyway, and giving the tree to oneself changes nothing.
        yield f'chown -R "${{SUDO_USER:-$(id -un)}}" {path_arg(target)}'
        yield from (StringCommand(command, login=True) for command in git_commands)
    else:
        yield from git_commands

    if user or group:
        if changed:
            owner = f"{user}:{group}" if user and group else user or f":{group}"
            yield f"chown -R {quote(owner)} {path_arg(target)}"
        else:
            yield from files.directory.operation_function(
                state, host, target, user=user, group=group, recursive=True
            )


__getattr__ = unknown_operation(__name__)
