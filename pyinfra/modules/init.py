"""Services: init.d scripts (and their rc links), BSD rc.d, upstart and systemd."""

from __future__ import annotations

import hashlib
import re

from pyinfra.api import OperationError, operation, quote
from pyinfra.modules import (
    files,
    unknown_operation,
)
from pyinfra.modules._files import upload_commands
from pyinfra.modules._lines import edit_line, escape_bre

RC_LEVELS = ("0", "1", "2", "3", "4", "5", "6", "S")


def check_name(name) -> str:
    name = str(name)
    if not name or "/" in name or name in (".", ".."):
        raise OperationError(f"not a service name: {name!r}")
    return name


def service_commands(action, status, running, restarted, reloaded, command):
    """start / stop / restart / reload / any command, as the service's status asks.

    `status`: True running, False stopped, None unknown (a start is tried, as the
    service may not be installed yet when the deploy is built). `running=None` leaves
    it as it is."""
    if running and not status:
        yield action("start")
    elif running is False and status:
        yield action("stop")
    if status and running is not False:
        if restarted:
            yield action("restart")
        elif reloaded:
            yield action("reload")
    if command:
        yield action(command)


def initd_action(name):
    return lambda verb: f"/etc/init.d/{quote(name)} {quote(verb)}"


def rc_links(host, name, levels, kinds="SK"):
    """The links in /etc/rc<level>.d that start (S) or kill (K) the service."""
    pattern = re.compile(rf"^[{kinds}]\d\d{re.escape(name)}$")
    links = []
    for level in levels:
        for path in host.fact.find_links(f"/etc/rc{level}.d") or []:
            if pattern.match(path.rsplit("/", 1)[-1]):
                links.append(path)
    return sorted(links)


# How 0.1 enabled a service at boot, by distribution; a host of another distribution
# uses whichever of these tools it has (OpenRC's rc-update first: Alpine has it, and a
# system with OpenRC installed boots with it), else /etc/rc<level>.d links.
BOOT_TOOLS = {
    "Debian": "update-rc.d",
    "Ubuntu": "update-rc.d",
    "CentOS": "chkconfig",
    "Fedora": "chkconfig",
    "RedHat": "chkconfig",
    "Gentoo": "rc-update",
}


def boot_tool(host) -> str | None:
    tool = BOOT_TOOLS.get((host.fact.linux_distribution or {}).get("name"))
    if tool:
        return tool
    for tool in ("rc-update", "update-rc.d", "chkconfig"):
        if host.fact.which(tool):
            return tool
    return None


def openrc_runlevels(host, name) -> list[str]:
    """The OpenRC runlevels the service is added to (/etc/runlevels/<level>/<name>)."""
    return sorted(
        path.split("/")[-2]
        for path in host.fact.find_links("/etc/runlevels") or []
        if path.count("/") == 4 and path.rsplit("/", 1)[-1] == name
    )


@operation
def d(state, host, name, running=True, restarted=False, reloaded=False, enabled=None, command=None):
    """Manage a service run by its /etc/init.d script.

    + name: the script's name in /etc/init.d
    + running: whether it should be running (None: leave it as it is)
    + restarted: restart it (when it was running already)
    + reloaded: reload it (when it was running already)
    + enabled: True starts it at boot, False stops that (see below)
    + command: another action of the script to run, like ``configtest``

    Enabling uses the system's own tool, as 0.1 did: ``update-rc.d <name> defaults``
    on Debian and Ubuntu, ``chkconfig --add`` and ``chkconfig <name> on`` on CentOS,
    Fedora and Red Hat, ``rc-update add <name> default`` on Gentoo. Another system
    uses whichever of rc-update (OpenRC, as on Alpine), update-rc.d and chkconfig it
    has, and without any makes the links ``init.d_enable`` makes. Nothing is done
    when the service already starts at boot: a start link in /etc/rc[2-5].d, or with
    OpenRC a runlevel in /etc/runlevels. False removes the /etc/rc?.d links of the
    service (``rc-update del`` from each runlevel with OpenRC).

    A script without a ``status`` action cannot tell whether it runs: it is started
    on every deploy when ``running`` is True.
    """
    name = check_name(name)
    status = (host.fact.initd_status or {}).get(name)
    yield from service_commands(initd_action(name), status, running, restarted, reloaded, command)
    if enabled is None:
        return
    tool = boot_tool(host)
    if tool == "rc-update":
        runlevels = openrc_runlevels(host, name)
        if enabled and not runlevels:
            yield f"rc-update add {quote(name)} default"
        elif not enabled:
            for runlevel in runlevels:
                yield f"rc-update del {quote(name)} {quote(runlevel)}"
    elif enabled and not rc_links(host, name, ("2", "3", "4", "5"), "S"):
        if tool == "update-rc.d":
            yield f"update-rc.d {quote(name)} defaults"
        elif tool == "chkconfig":
            yield f"chkconfig --add {quote(name)}"
            yield f"chkconfig {quote(name)} on"
        else:
            yield from d_enable.operation_function(state, host, name)
    elif not enabled:
        for link in rc_links(host, name, RC_LEVELS):
            yield f"rm -f {quote(link)}"


def priority(value, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 99:
        raise OperationError(f"{label} must be a number from 0 to 99, not {value!r}")
    return value


def levels(values, label: str) -> list[str]:
    if isinstance(values, (str, int)):
        values = [values]
    result = []
    for value in values:
        if str(value) not in RC_LEVELS:
            raise OperationError(f"{label}: {value!r} is not a runlevel (0-6 or S)")
        result.append(str(value))
    return result


@operation
def d_enable(
    state, host, name, start_priority=20, stop_priority=80, start_levels=(2, 3, 4, 5), stop_levels=(0, 1, 6)
):
    """Start an init.d service at boot: links ``/etc/rc<level>.d/S<priority><name>``
    (and ``K<priority><name>`` to stop it) to its script.

    + name: the script's name in /etc/init.d
    + start_priority: order among the services started, 0 to 99
    + stop_priority: order among the services stopped, 0 to 99
    + start_levels: runlevels to start it in
    + stop_levels: runlevels to stop it in
    """
    name = check_name(name)
    start_priority = priority(start_priority, "start_priority")
    stop_priority = priority(stop_priority, "stop_priority")
    target = f"/etc/init.d/{name}"
    for level in levels(start_levels, "start_levels"):
        link = f"/etc/rc{level}.d/S{start_priority:02d}{name}"
        yield from files.link.operation_function(state, host, link, target)
    for level in levels(stop_levels, "stop_levels"):
        link = f"/etc/rc{level}.d/K{stop_priority:02d}{name}"
        yield from files.link.operation_function(state, host, link, target)


@operation
def rc(state, host, name, running=True, restarted=False, reloaded=False, command=None, enabled=None):
    """Manage a service run by its BSD-style /etc/rc.d script, as 0.1 did.

    + name: the script's name in /etc/rc.d
    + running: whether it should be running (None: leave it as it is)
    + restarted: restart it (when it was running already)
    + reloaded: reload it (when it was running already)
    + command: another action of the script to run
    + enabled: True writes ``<name>_enable="YES"`` in /etc/rc.conf.local (replacing
      any other ``<name>_enable=`` line there), False removes those lines

    Whether it runs is what the script's ``onestatus`` (``check`` on OpenBSD) says.
    BSD hosts as a whole are not supported (see docs/deploys.md): this operation only
    runs the script and edits rc.conf.local, which any host with such scripts has.
    """
    name = check_name(name)
    status = (host.fact.rcd_status or {}).get(name)
    action = lambda verb: f"/etc/rc.d/{quote(name)} {quote(verb)}"
    yield from service_commands(action, status, running, restarted, reloaded, command)
    if isinstance(enabled, bool):
        pattern = f"^{escape_bre(name)}_enable=.*$"
        yield from edit_line(
            host,
            "/etc/rc.conf.local",
            pattern,
            f'{name}_enable="YES"',
            present=enabled,
            replace=f'{name}_enable="YES"' if enabled else None,
        )


@operation
def upstart(state, host, name, running=True, restarted=False, reloaded=False, command=None, enabled=None):
    """Manage an upstart job.

    + name: the job's name (``/etc/init/<name>.conf``)
    + running: whether it should be running (None: leave it as it is)
    + restarted: restart it (when it was running already)
    + reloaded: reload it (when it was running already)
    + command: another initctl action to run for it
    + enabled: False writes ``manual`` in ``/etc/init/<name>.override`` so it does not
      start at boot (the file is made holding only that, as 0.1 did, when absent);
      True removes that override file, as 0.1 documents, when ``manual`` is all it
      holds. Other lines in an existing override (``env``, ``exec``...) are the
      user's: they are kept, and only the ``manual`` line is added or removed.
    """
    name = check_name(name)
    status = (host.fact.upstart_status or {}).get(name)
    action = lambda verb: f"initctl {quote(verb)} {quote(name)}"
    yield from service_commands(action, status, running, restarted, reloaded, command)
    override = f"/etc/init/{name}.override"
    if enabled is None:
        return
    if not host.fact.file(override):
        if enabled is False:
            yield from upload_commands(host, MANUAL, hashlib.sha1(MANUAL).hexdigest(), override)
        return
    others = [line for line in host.fact.find_in_file(override, "^.*$") or [] if line.strip() != "manual"]
    if enabled is True and not any(line.strip() for line in others):
        yield from files.file.operation_function(state, host, override, present=False)
    else:
        yield from edit_line(host, override, "^manual$", "manual", present=not enabled)


MANUAL = b"manual\n"


@operation
def systemd(state, host, name, running=True, restarted=False, reloaded=False, command=None, enabled=None):
    """Manage a systemd service.

    + name: the unit's name (``nginx`` or ``nginx.service``)
    + running: whether it should be running (None: leave it as it is)
    + restarted: restart it (when it was running already)
    + reloaded: reload it (when it was running already)
    + command: another systemctl action to run for it
    + enabled: whether it starts at boot (``systemctl enable``/``disable``)
    """
    name = check_name(name)
    key = name[: -len(".service")] if name.endswith(".service") else name
    status = (host.fact.systemd_status or {}).get(key)
    action = lambda verb: f"systemctl {quote(verb)} {quote(name)}"
    yield from service_commands(action, status, running, restarted, reloaded, command)
    if enabled is None:
        return
    current = (host.fact.systemd_enabled or {}).get(key)
    if enabled and not current:
        yield f"systemctl enable {quote(name)}"
    elif not enabled and current:
        yield f"systemctl disable {quote(name)}"


__getattr__ = unknown_operation(__name__)
