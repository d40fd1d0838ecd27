"""Shell commands and scripts, and waiting for a port."""

from __future__ import annotations

import os
import posixpath
import re

from pyinfra.api import FileUploadCommand, OperationError, operation, quote
from pyinfra.modules._files import local_path, path_arg, sha1_of
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
