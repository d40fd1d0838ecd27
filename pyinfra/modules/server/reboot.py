"""Rebooting a host and waiting until it answers again."""

from __future__ import annotations

import time

import gevent

from pyinfra.api import OperationError, context, operation
from pyinfra.api.command import LOGIN, FunctionCommand, RunAs
from pyinfra.api.exceptions import ConnectError


def still_up(connector, run_as: RunAs) -> bool:
    """Whether the connection still carries a command."""
    try:
        return connector.run_shell_command("true", run_as).ok
    except ConnectError:
        return False


def reboot_and_wait(state, host, command, run_as, delay, interval, reboot_timeout):
    """Run the reboot command, wait for the connection to drop, then connect again
    until the host answers; every wait within `reboot_timeout` seconds."""
    connector = host.connector
    deadline = time.monotonic() + reboot_timeout
    try:
        result = connector.run_shell_command(command, run_as)
    except ConnectError:
        result = None  # the connection went down under the command: the reboot began
    if result is not None and not result.ok and still_up(connector, run_as):
        raise OperationError(f"the reboot command failed: {result.describe()}")
    while still_up(connector, run_as):
        if time.monotonic() + interval > deadline:
            raise OperationError(f"{host.name} still answers {reboot_timeout}s after the reboot command")
        gevent.sleep(interval)
    connector.close()
    gevent.sleep(min(delay, max(0.0, deadline - time.monotonic())))
    while True:
        try:
            connector.reconnect()
            return
        except ConnectError as error:
            why = error
        if time.monotonic() + interval > deadline:
            raise OperationError(
                f"{host.name} did not answer again within reboot_timeout={reboot_timeout}s: {why}"
            )
        gevent.sleep(interval)


@operation(opaque=True)
def reboot(state, host, delay=10, interval=1, reboot_timeout=300, command="reboot"):
    """Reboot the host and wait until it answers again: the operation runs the reboot
    command, waits for the connection to drop, waits ``delay`` seconds, then connects
    again every ``interval`` seconds. It fails when the host still answers, or does not
    answer again, ``reboot_timeout`` seconds after the command. It runs on every
    deploy; later operations on the host are decided from its state after the reboot.

    + delay: seconds to wait after the connection dropped before connecting again
    + interval: seconds between two attempts (and between two checks that the
      connection dropped)
    + reboot_timeout: seconds from the reboot command within which the host must be
      back
    + command: the command that reboots (``sudo=True`` runs it as root)

    A machine cannot be rebooted by its own test suite: the tests run this operation
    for real against a test sshd of their own, which the command given stops and
    which comes back on its own port a little later (the connection drops, the
    operation reconnects, the next operation runs over the new connection); and with
    a command that fails, and a host that never comes back.
    """
    for name, value in (("delay", delay), ("interval", interval), ("reboot_timeout", reboot_timeout)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise OperationError(f"{name} must be a number of seconds, not {value!r}")
    if interval <= 0:
        raise OperationError("interval must be more than 0 seconds")
    if not isinstance(command, str) or not command.strip():
        raise OperationError(f"the reboot command must be shell text, not {command!r}")
    making = context.making_for(host)
    run_as = RunAs.of(making.kwargs) if making is not None else LOGIN
    yield FunctionCommand(reboot_and_wait, (command, run_as, delay, interval, reboot_timeout))
