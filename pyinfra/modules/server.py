"""Shell commands, users and groups."""

from __future__ import annotations

import hashlib
import posixpath

from pyinfra.api import OperationError, operation, quote
from pyinfra.modules import files


@operation
def shell(state, host, commands, chdir=None):
    """Run shell commands as written (they are the shell code; nothing is quoted).

    + commands: a command or a list of them, run in order
    + chdir: directory to run each command in
    """
    if isinstance(commands, str):
        commands = [commands]
    for command in commands:
        if not isinstance(command, str):
            raise OperationError(f"a shell command must be a string, not {command!r}")
        yield f"cd {files.path_arg(chdir)} && {command}" if chdir else command


@operation
def group(state, host, name, present=True, system=False):
    """Ensure a group exists or is absent.

    + name: name of the group
    + present: whether the group should exist
    + system: create it as a system group
    """
    groups = host.fact.groups or []
    if present and name not in groups:
        yield f"groupadd {'-r ' if system else ''}{quote(name)}"
    elif not present and name in groups:
        yield f"groupdel {quote(name)}"


def as_list(value) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


@operation
def user(
    state,
    host,
    name,
    present=True,
    home=None,
    shell=None,
    group=None,
    groups=None,
    public_keys=None,
    delete_keys=False,
    ensure_home=True,
    system=False,
):
    """Ensure a user exists, with its home, shell, groups and SSH keys, or is absent.

    + name: name of the user
    + present: whether the user should exist (absent removes the user, not its home)
    + home: home directory (a new user gets /home/<name> when not given)
    + shell: login shell
    + group: primary group
    + groups: supplementary groups, replacing the ones the user is in
    + public_keys: SSH public keys (a string or a list) for ~/.ssh/authorized_keys
    + delete_keys: make the listed keys the only ones, removing any others
    + ensure_home: create the home directory when missing, owned by the user
    + system: create the user as a system user
    """
    existing = (host.fact.users or {}).get(name)

    if not present:
        if existing:
            yield f"userdel {quote(name)}"
        return

    groups = as_list(groups)
    public_keys = as_list(public_keys)

    if existing is None:
        home = home or f"/home/{name}"
        args = ["-d", quote(home)]
        if shell:
            args += ["-s", quote(shell)]
        if group:
            args += ["-g", quote(group)]
        if groups:
            args += ["-G", quote(",".join(groups))]
        if system:
            args.append("-r")
        yield f"useradd {' '.join(args)} {quote(name)}"
    else:
        args = []
        if home and existing.get("home") != home:
            args += ["-d", quote(home)]
        if shell and existing.get("shell") != shell:
            args += ["-s", quote(shell)]
        if group and existing.get("group") != group:
            args += ["-g", quote(group)]
        if groups and sorted(set(existing.get("groups") or [])) != sorted(set(groups)):
            args += ["-G", quote(",".join(groups))]
        if args:
            yield f"usermod {' '.join(args)} {quote(name)}"
        home = home or existing.get("home")

    # useradd without -g makes a group named after the user.
    owner_group = group or (existing or {}).get("group") or name

    if ensure_home and home:
        yield from files.directory.operation_function(state, host, home, user=name, group=owner_group)

    if public_keys is not None and home:
        ssh_dir = posixpath.join(home, ".ssh")
        yield from files.directory.operation_function(
            state, host, ssh_dir, user=name, group=owner_group, mode=700
        )
        keys_file = posixpath.join(ssh_dir, "authorized_keys")
        if delete_keys:
            content = "".join(f"{key.strip()}\n" for key in public_keys).encode()
            yield from files.upload_commands(
                host, content, hashlib.sha1(content).hexdigest(), keys_file, name, owner_group, "600"
            )
        else:
            yield from files.file.operation_function(
                state, host, keys_file, user=name, group=owner_group, mode=600
            )
            for key in public_keys:
                key = key.strip()
                pattern = f"^.*{files.escape_bre(key)}.*$"
                yield from files.edit_line(host, keys_file, pattern, key)
