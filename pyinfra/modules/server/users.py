"""Users and groups, with their SSH keys."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re

from pyinfra.api import OperationError, operation, quote
from pyinfra.api.diff import AccountChange, note
from pyinfra.modules import files
from pyinfra.modules._files import local_path, upload_commands
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


KEY_TYPES = re.compile(r"^(ssh-|ecdsa-|sk-)")
OPTIONAL_BEFORE = "\\(.*[[:space:]]\\)\\{0,1\\}"
OPTIONAL_AFTER = "\\([[:space:]].*\\)\\{0,1\\}"


def key_identity(key: str) -> str:
    """The part of an authorized_keys line that is the key: its type and base64 blob,
    after any options and before any comment ("ssh-ed25519 AAAA...")."""
    words = key.split()
    for index, word in enumerate(words[:-1]):
        if KEY_TYPES.match(word):
            return f"{word} {words[index + 1]}"
    raise OperationError(f"not an SSH public key: {key[:40]!r}")


def read_keys(state, public_keys) -> list[str]:
    """The keys given: text, or the path of a local public key file (relative to the
    deploy directory) to read them from."""
    if isinstance(public_keys, str):
        public_keys = [public_keys]
    if not isinstance(public_keys, (list, tuple)) or not all(isinstance(k, str) for k in public_keys):
        raise OperationError(f"public_keys must be a key or a list of keys, not {public_keys!r}")
    keys = []
    for key in public_keys:
        path = local_path(state, key) if "\n" not in key and len(key) < 4096 else None
        if path and os.path.isfile(path):
            with open(path) as handle:
                keys += [line.strip() for line in handle if line.strip() and not line.startswith("#")]
        else:
            keys += [line.strip() for line in key.splitlines() if line.strip()]
    for key in keys:
        key_identity(key)
    return keys


@operation
def user_authorized_keys(
    state,
    host,
    user,
    public_keys,
    group=None,
    delete_keys=False,
    authorized_key_directory=None,
    authorized_key_filename=None,
    present=True,
):
    """Ensure SSH public keys are in (or not in) a user's authorized keys file, the
    directory mode 700 and the file 600, both owned by the user.

    + user: the user, who must exist (an earlier ``server.user`` of the deploy counts)
    + public_keys: a key or a list of keys, each its text or the path of a local
      public key file (relative to the deploy directory)
    + group: group to own the directory and file (default: the user's primary group)
    + delete_keys: make the given keys the only ones: any other key is removed
      (the exclusive option)
    + authorized_key_directory: the directory of the file (default: ``~USER/.ssh``)
    + authorized_key_filename: the file's name in it (default: ``authorized_keys``)
    + present: False removes the given keys instead

    A key is found by its type and base64 blob: the same key with another comment or
    options counts as present and is left as it is. Tested end to end on a test user
    logged into as another, through sudo: modes, owners, added keys, removed keys and
    the exclusive file.
    """
    keys = read_keys(state, public_keys)
    if delete_keys and not present:
        raise OperationError("delete_keys keeps only the given keys: it cannot go with present=False")
    existing = (host.fact.users or {}).get(user)
    if existing is None:
        raise OperationError(f"user {user} does not exist (create it first with server.user)")
    owner_group = group or existing.get("group") or user
    ssh_dir = authorized_key_directory or posixpath.join(existing["home"], ".ssh")
    keys_file = posixpath.join(ssh_dir, authorized_key_filename or "authorized_keys")

    yield from files.directory.operation_function(
        state, host, ssh_dir, user=user, group=owner_group, mode=700
    )
    if delete_keys:
        content = "".join(f"{key}\n" for key in keys).encode()
        yield from upload_commands(
            host, content, hashlib.sha1(content).hexdigest(), keys_file, user, owner_group, "600"
        )
        return
    yield from files.file.operation_function(state, host, keys_file, user=user, group=owner_group, mode=600)
    for key in keys:
        # The key alone on its line, or after options, or before a comment.
        pattern = f"^{OPTIONAL_BEFORE}{escape_bre(key_identity(key))}{OPTIONAL_AFTER}$"
        yield from edit_line(host, keys_file, pattern, key, present=present)


@operation
def authorized_keys(
    state,
    host,
    user,
    public_keys,
    group=None,
    delete_keys=False,
    authorized_key_directory=None,
    authorized_key_filename=None,
    present=True,
):
    """``server.user_authorized_keys`` under the shorter name: the same arguments, the
    same result.

    + user: the user, who must exist
    + public_keys: a key or a list of keys (text, or local public key files)
    + group: group to own the directory and file
    + delete_keys: make the given keys the only ones
    + authorized_key_directory: the directory of the file (default: ``~USER/.ssh``)
    + authorized_key_filename: the file's name in it (default: ``authorized_keys``)
    + present: False removes the given keys instead
    """
    yield from user_authorized_keys.operation_function(
        state,
        host,
        user,
        public_keys,
        group,
        delete_keys,
        authorized_key_directory,
        authorized_key_filename,
        present,
    )
