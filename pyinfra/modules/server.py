"""Shell commands and scripts, waiting for a port, users and groups."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re

from pyinfra.api import FileUploadCommand, OperationError, operation, quote
from pyinfra.api.diff import AccountChange, note
from pyinfra.modules import (
    files,
    unknown_operation,
)
from pyinfra.modules._files import local_path, path_arg, sha1_of, upload_commands
from pyinfra.modules._lines import edit_line, escape_bre
from pyinfra.modules._packages import earlier_commands


@operation(opaque=True)
def shell(state, host, commands, chdir=None):
    """Run shell commands as written (they are the shell code; nothing is quoted).

    + commands: a command or a list of them, run in order
    + chdir: directory to run each command in (``cd DIR && (COMMAND)``)
    """
    if isinstance(commands, str):
        commands = [commands]
    for command in commands:
        if not isinstance(command, str):
            raise OperationError(f"a shell command must be a string, not {command!r}")
        # In a subshell: `a; b` or `a || b` must not run where the cd failed.
        yield f"cd {path_arg(chdir)} && ({command})" if chdir else command


@operation(opaque=True)
def script(state, host, filename, chdir=None):
    """Upload a local script to the home directory and run it on the host, then
    remove it (it runs on every deploy).

    + filename: local script (relative paths are in the deploy directory); it is made
      executable, so a ``#!`` line chooses its interpreter
    + chdir: directory to run the script in
    """
    path = local_path(state, filename)
    if not os.path.isfile(path):
        raise OperationError(f"local file not found: {path}")
    sha1 = sha1_of(path)
    base = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(path))
    # In the home directory, not /tmp: nobody else can plant a link at a name one can
    # predict from the script's content.
    home = host.fact.home or "/tmp"
    remote = posixpath.join(home, f".pyinfra-{sha1[:12]}-{base}")
    yield FileUploadCommand(path, remote)
    yield f"chmod +x {quote(remote)}"
    yield f"cd {path_arg(chdir)} && {quote(remote)}" if chdir else quote(remote)
    yield f"rm -f {quote(remote)}"


def port_listening_check(port: int) -> str:
    """A shell test that succeeds when something listens on TCP `port`."""
    proc_pattern = f"^ *[0-9]+: [0-9A-F]+:{port:04X} [0-9A-F]+:[0-9A-F]+ 0A "
    return (
        f"if [ -r /proc/net/tcp ]; then grep -qE '{proc_pattern}' /proc/net/tcp /proc/net/tcp6 2>/dev/null;"
        f" else netstat -an | grep LISTEN | grep -qE '[.:]{port}[[:space:]]'; fi"
    )


@operation
def wait(state, host, port=None):
    """Wait until something listens on a TCP port of the host.

    + port: the port number

    Nothing is done when the port is listening already and no earlier operation of this
    deploy changes the host (one that does, a restart say, may close it for a while).
    Bound the wait with the ``timeout`` global argument.
    """
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise OperationError(f"port must be a TCP port number, not {port!r}")
    if not earlier_commands(state, host) and port in (host.fact.listening_ports or []):
        return
    yield f"while ! {{ {port_listening_check(port)}; }}; do sleep 1; done"


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


__getattr__ = unknown_operation(__name__)
