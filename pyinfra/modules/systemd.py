"""systemd units: their unit files, and whether they start at boot and run.

The unit file goes in /etc/systemd/system. (``init.systemd`` manages a service whose
unit file exists already.)

Where systemd does not run the host (a container, a chroot, an image being built),
the unit file is still put in place and enabled (``systemctl enable`` works on the
unit files alone), the ``daemon-reload`` is left out (systemd reads the file when it
starts), and ``running=True`` fails: nothing can start the unit there.

Tested end to end for the unit file and enabling (the test machine's systemctl,
without systemd as PID 1); starting, stopping and reloading systemd itself are
tested at the command level (JSON cases), as the test machines do not boot with
systemd.
"""

from __future__ import annotations

import hashlib
import posixpath
import re

from pyinfra.api import FileUploadCommand, OperationError, operation, quote
from pyinfra.facts.init import ENABLED_STATES
from pyinfra.modules import files, unknown_operation
from pyinfra.modules._files import local_path, upload_commands

UNIT_DIR = "/etc/systemd/system"
UNIT_TYPES = (
    "service", "socket", "device", "mount", "automount", "swap", "target", "path", "timer", "slice", "scope",
)  # fmt: skip
# systemd's own limit on a unit name, and the characters it allows.
UNIT_NAME = re.compile(r"[A-Za-z0-9:_.\\@-]{1,255}")
RUNNING = ("active", "activating", "reloading")
# Unit file states `systemctl disable` undoes; static and generated units have no
# [Install] section to undo.
DISABLEABLE = ("enabled", "enabled-runtime", "linked", "linked-runtime", "alias")
# Only where systemd runs: the file is read at boot elsewhere.
DAEMON_RELOAD = "if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi"


def unit_name(name) -> str:
    """The unit's full name: ``nginx`` is ``nginx.service``."""
    name = str(name) if isinstance(name, str) else ""
    if name.rsplit(".", 1)[-1] not in UNIT_TYPES:
        name += ".service"
    if not UNIT_NAME.fullmatch(name) or name.startswith((".", "-")):
        raise OperationError(f"not a systemd unit name: {name!r}")
    return name


def unit_content(state, src, content) -> bytes:
    if (src is None) == (content is None):
        raise OperationError("give the unit file as src (a local file) or as content (its text), one of them")
    if content is not None:
        if not isinstance(content, str):
            raise OperationError(f"content must be the unit file's text, not {content!r}")
        return content.encode() if content.endswith("\n") else (content + "\n").encode()
    path = local_path(state, src)
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise OperationError(f"cannot read the unit file {path}: {error.strerror}") from None


@operation
def unit(state, host, name, src=None, content=None, present=True, running=None, enabled=None):
    """Put a systemd unit file in /etc/systemd/system, and have systemd read it
    (``daemon-reload``) only when it changed; optionally enable and start the unit.

    + name: the unit's name, like ``myapp.service`` or ``backup.timer`` (``myapp``
      is ``myapp.service``)
    + src: local file to upload as the unit file (relative paths are in the deploy
      directory)
    + content: the unit file's text, instead of ``src``
    + present: whether the unit file should be there; False stops and disables the
      unit first, removes the file and reloads systemd
    + running: whether the unit should be running (None: leave it as it is); a
      running unit whose file changed is restarted, so that the new file is in force
    + enabled: whether it starts at boot (``systemctl enable``/``disable``; None:
      leave it as it is)

    The file is written atomically, owned by root with mode 644. Whether the unit is
    enabled and running is the ``systemd_unit_state`` fact.
    """
    unit = unit_name(name)
    path = posixpath.join(UNIT_DIR, unit)
    current = host.fact.systemd_unit_state(unit) or {}
    active = current.get("active")
    is_running = active in RUNNING
    file_state = current.get("enabled")
    systemctl = lambda verb: f"systemctl {verb} {quote(unit)}"

    if not present:
        if running or enabled:
            raise OperationError("a unit without its file can be neither running nor enabled")
        if is_running:
            yield systemctl("stop")
        if file_state in DISABLEABLE:
            yield systemctl("disable")
        removal = list(files.file.operation_function(state, host, path, present=False))
        if removal:
            yield from removal
            yield DAEMON_RELOAD
        return

    data = unit_content(state, src, content)
    upload = list(upload_commands(host, data, hashlib.sha1(data).hexdigest(), path, "root", "root", "644"))
    # Commands that only set the owner or mode leave the content, which systemd read.
    changed = any(isinstance(command, FileUploadCommand) for command in upload)
    yield from upload
    if changed:
        yield DAEMON_RELOAD
    if enabled and file_state not in ENABLED_STATES:
        yield systemctl("enable")
    elif enabled is False and file_state in DISABLEABLE:
        yield systemctl("disable")
    if running and not is_running:
        yield systemctl("start")
    elif running is False and is_running:
        yield systemctl("stop")
    elif changed and is_running:
        yield systemctl("restart")


__getattr__ = unknown_operation(__name__)
