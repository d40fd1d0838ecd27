"""Helpers for deploy files and hooks that act on the controller itself.

branch = local.shell('git rev-parse --abbrev-ref HEAD')
local.include('roles/db.py', hosts=inventory.db_servers)
"""

from __future__ import annotations

import os
import subprocess

from pyinfra.api import context
from pyinfra.api.connectors.base import CommandResult
from pyinfra.api.exceptions import LocalCommandError, PyinfraError
from pyinfra.api.loader import compile_file, exec_code, user_namespace


def shell(commands: str | list[str], splitlines: bool = False, ignore_errors: bool = False):
    """Run shell command(s) here; return the stripped stdout of the last one (a list of
    lines with splitlines=True). A non-zero exit raises, showing command and output."""
    if isinstance(commands, str):
        commands = [commands]
    output = ""
    for command in commands:
        process = subprocess.run(
            command,
            shell=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        output = process.stdout.decode("utf-8", errors="replace").strip()
        if process.returncode != 0 and not ignore_errors:
            error = process.stderr.decode("utf-8", errors="replace").strip()
            detail = "\n".join(f"  {line}" for line in (error or output).splitlines()[-20:])
            result = CommandResult(command, process.returncode, output.splitlines(), error.splitlines())
            raise LocalCommandError(
                result,
                f"local command failed (exit status {process.returncode}): {command}"
                + (f"\n{detail}" if detail else ""),
            )
    return output.splitlines() if splitlines else output


def include(filename: str, hosts=None) -> None:
    """Run another deploy file (a role) for the current host. With `hosts`, its
    operations are added only for those hosts. Paths are relative to the deploy dir."""
    state = context.state.bound()
    host = context.host.bound()
    if state is None or host is None:
        raise PyinfraError("local.include() can only be used inside a deploy")
    if hosts is not None:
        if isinstance(hosts, str) or not hasattr(hosts, "__iter__"):
            hosts = [hosts]
        if host not in [context.unwrap(h) for h in hosts]:
            return
    path = filename if os.path.isabs(filename) else os.path.join(state.deploy_dir, filename)
    exec_code(compile_file(path), path, user_namespace(path))
