"""Users and groups, with their SSH keys."""

from __future__ import annotations

import hashlib
import posixpath

from pyinfra.api import operation, quote
from pyinfra.api.diff import AccountChange, note
from pyinfra.modules import files
from pyinfra.modules._files import upload_commands
from pyinfra.modules._lines import edit_line, escape_bre


@operation
def group(state, host, name, present=True, system=False):
    """Ensure a group exists or is absent.

    + name: name of the group
    + present: whether the group should exist
    + system: create it as a system group
    """
    groups = host.fact.groups or []
    if present and name not in groups:
        note(host, AccountChange("group", name, "created", ("system group",) if system else ()))
        yield f"groupadd {'-r ' if system else ''}{quote(name)}"
    elif not present and name in groups:
        note(host, AccountChange("group", name, "removed"))
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
    + home: home directory (a new user gets ``/home/<name>`` when not given)
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
            note(host, AccountChange("user", name, "removed", ("not its home",)))
            yield f"userdel {quote(name)}"
        return

    groups = as_list(groups)
    public_keys = as_list(public_keys)

    if existing is None:
        home = home or f"/home/{name}"
        args, details = ["-d", quote(home)], [f"home {home}"]
        for flag, what, value in (
            ("-s", "shell", shell),
            ("-g", "group", group),
            ("-G", "groups", ",".join(groups) if groups else None),
        ):
            if value:
                args += [flag, quote(value)]
                details.append(f"{what} {value}")
        if system:
            args.append("-r")
            details.append("system user")
        note(host, AccountChange("user", name, "created", tuple(details)))
        yield f"useradd {' '.join(args)} {quote(name)}"
    else:
        args, details = [], []
        for flag, what, wanted, now in (
            ("-d", "home", home, existing.get("home")),
            ("-s", "shell", shell, existing.get("shell")),
            ("-g", "group", group, existing.get("group")),
        ):
            if wanted and now != wanted:
                args += [flag, quote(wanted)]
                details.append(f"{what} {now} -> {wanted}")
        now_groups = sorted(set(existing.get("groups") or []))
        if groups and now_groups != sorted(set(groups)):
            args += ["-G", quote(",".join(groups))]
            details.append(f"groups {','.join(now_groups) or '(none)'} -> {','.join(groups)}")
        if args:
            note(host, AccountChange("user", name, "changed", tuple(details)))
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
            yield from upload_commands(
                host, content, hashlib.sha1(content).hexdigest(), keys_file, name, owner_group, "600"
            )
        else:
            yield from files.file.operation_function(
                state, host, keys_file, user=name, group=owner_group, mode=600
            )
            for key in public_keys:
                key = key.strip()
                pattern = f"^.*{escape_bre(key)}.*$"
                yield from edit_line(host, keys_file, pattern, key)
