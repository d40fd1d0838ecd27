"""The system's settings: hostname, timezone, locales, kernel parameters, mounts."""

from __future__ import annotations

import hashlib
import re

from pyinfra.api import OperationError, operation, quote
from pyinfra.api.diff import ContentChange, note
from pyinfra.facts.system import normal_locale, parse_sysctl_value
from pyinfra.modules import files
from pyinfra.modules._files import path_arg, upload_commands
from pyinfra.modules._lines import edit_line, escape_bre, rewrite_lines_command, rewritten

HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def put_text(host, path: str, text: str):
    content = text.encode()
    yield from upload_commands(host, content, hashlib.sha1(content).hexdigest(), path)


@operation
def hostname(state, host, hostname, hostname_file=None):
    """Ensure the host's name, now (``hostname NAME``) and after a reboot (the file the
    system reads it from at boot).

    + hostname: the name (letters, digits and hyphens, in dot-separated labels)
    + hostname_file: the file keeping it: default ``/etc/hostname`` (``/etc/myname``
      on OpenBSD); False leaves every file alone

    ``hostname`` works with or without systemd (systemd reads /etc/hostname at boot);
    ``hostnamectl`` is not used, as it needs a running systemd. Tested at the command
    level only (JSON cases): the tests do not rename the machine they run on.
    """
    if not isinstance(hostname, str) or not HOSTNAME.match(hostname):
        raise OperationError(f"not a valid hostname: {hostname!r}")
    if host.fact.hostname != hostname:
        yield f"hostname {quote(hostname)}"
    if hostname_file is False:
        return
    if hostname_file is None:
        hostname_file = "/etc/myname" if host.fact.os == "OpenBSD" else "/etc/hostname"
    yield from put_text(host, hostname_file, f"{hostname}\n")


ZONE = re.compile(r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$")
ZONEINFO = "/usr/share/zoneinfo"


@operation
def timezone(state, host, timezone):
    """Ensure the system timezone: /etc/localtime links to the zone's file under
    /usr/share/zoneinfo, and /etc/timezone (Debian's copy of the name) says it where
    that file exists.

    + timezone: the zone's name, as in the tz database ('Europe/Paris', 'Etc/UTC')

    A zone the host has no file for is an error before anything runs. Programs
    already running keep the zone they started with. Tested end to end on a busybox
    chroot host of the test sshd (its files only; this machine's zone is not changed).
    """
    if not isinstance(timezone, str) or not ZONE.match(timezone) or ".." in timezone:
        raise OperationError(f"not a timezone name: {timezone!r}")
    zone_file = f"{ZONEINFO}/{timezone}"
    if not host.fact.file(zone_file):
        raise OperationError(f"unknown timezone {timezone}: the host has no {zone_file}")
    yield from files.link.operation_function(state, host, "/etc/localtime", zone_file)
    if host.fact.file("/etc/timezone"):
        yield from put_text(host, "/etc/timezone", f"{timezone}\n")


LOCALE_GEN = "/etc/locale.gen"


@operation
def locale(state, host, locale, present=True):
    """Ensure a locale is generated (enabled in /etc/locale.gen, then ``locale-gen``),
    or is not (commented out there, and generated again without it).

    + locale: the locale's name as /etc/locale.gen lists it ('en_GB.UTF-8')
    + present: whether the locale should be generated

    For hosts with Debian's locale-gen (Debian, Ubuntu). A locale /etc/locale.gen does
    not list is an error. Tested at the command level only (JSON cases): locale-gen
    writes one archive for the whole machine and takes no root directory, so a test
    would change the locales of the machine running it.
    """
    if not isinstance(locale, str) or not re.fullmatch(r"[A-Za-z0-9_.@-]+", locale):
        raise OperationError(f"not a locale name: {locale!r}")
    pattern = f"^#*[[:space:]]*{escape_bre(locale)}[[:space:]]"
    lines = host.fact.find_in_file(LOCALE_GEN, pattern)
    if lines is None:
        raise OperationError(f"the host has no {LOCALE_GEN} (server.locale needs Debian's locale-gen)")
    if not lines:
        raise OperationError(f"locale {locale} is not listed in {LOCALE_GEN}")
    enabled = [line for line in lines if not line.lstrip().startswith("#")]
    generated = normal_locale(locale) in {normal_locale(name) for name in host.fact.locales or []}
    if present:
        if not enabled:
            yield from rewrite(host, LOCALE_GEN, lines[:1], lines[0].lstrip("#").strip())
        if not enabled or not generated:
            yield "locale-gen"
        return
    for line in enabled:
        yield from rewrite(host, LOCALE_GEN, [line], f"# {line.strip()}")
    if enabled or generated:
        yield "locale-gen"


def rewrite(host, path: str, lines: list[str], replace: str):
    """Replace the lines of `path` equal to one of `lines` by `replace` (noted for --diff)."""
    note(host, ContentChange(path, True, edit=rewritten(lines, replace)))
    yield rewrite_lines_command(path, lines, replace)


SYSCTL_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@/-]*$")


@operation
def sysctl(state, host, key, value, persist=False, persist_file="/etc/sysctl.d/99-pyinfra.conf"):
    """Ensure a kernel parameter's value now (``sysctl -w``) and, with ``persist``,
    after a reboot (a ``KEY = VALUE`` line in a sysctl.d file).

    + key: the parameter ('net.ipv4.ip_forward')
    + value: its value: a number, text, or a list for a parameter of several numbers
    + persist: also keep the setting in ``persist_file``
    + persist_file: the file for it (made when missing; a line for the key there is
      replaced)

    A key the kernel does not have is an error before anything runs. Tested end to
    end on a key of a network device the test makes, with a temporary persist file.
    """
    if not isinstance(key, str) or not SYSCTL_KEY.match(key) or ".." in key:
        raise OperationError(f"not a sysctl key: {key!r}")
    words = value if isinstance(value, (list, tuple)) else [value]
    if not words or any(isinstance(w, bool) or not str(w).strip() or "\n" in str(w) for w in words):
        raise OperationError(f"not a sysctl value: {value!r}")
    text = " ".join(str(w).strip() for w in words)
    current = host.fact.sysctl(key)
    if current is None:
        raise OperationError(f"the kernel has no sysctl {key}")
    if current != parse_sysctl_value(text):
        yield f"sysctl -w {quote(f'{key}={text}')}"
    if persist:
        pattern = f"^[[:space:]]*{escape_bre(key)}[[:space:]]*="
        yield from edit_line(host, persist_file, pattern, f"{key} = {text}", replace=f"{key} = {text}")


def fstab_field(text: str) -> str:
    """A field of an fstab line: its spaces and tabs written octal, as fstab wants."""
    return text.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011")


@operation
def mount(
    state,
    host,
    path,
    mounted=True,
    options=None,
    device=None,
    fs_type=None,
    persist=False,
    fstab_file="/etc/fstab",
):
    """Ensure a filesystem is mounted at a path (with options), or is not; with
    ``persist``, also its line in fstab.

    + path: the mount point (an existing directory)
    + mounted: whether something should be mounted there
    + options: mount options (a list or 'a,b'): when mounted with some of them
      missing, it is remounted with them; compared as the kernel shows them
      (tmpfs's ``size=1m`` shows as ``size=1024k``: write the latter)
    + device: what to mount ('/dev/sdb1', 'tmpfs', 'server:/export')
    + fs_type: the filesystem type ('ext4', 'tmpfs', 'nfs')
    + persist: keep a ``DEVICE PATH TYPE OPTIONS 0 0`` line for the path in
      ``fstab_file`` (needs ``device`` and ``fs_type``), or remove the path's line
      when not mounted
    + fstab_file: the fstab to keep it in

    A mounted filesystem's device or type is not changed: unmount it first. Tested
    end to end with tmpfs mounts on temporary directories and a temporary fstab.
    """
    if not isinstance(path, str) or not path.startswith("/") or "\n" in path:
        raise OperationError(f"a mount point must be an absolute path, not {path!r}")
    path = path.rstrip("/") or "/"
    if isinstance(options, str):
        options = [o for o in options.split(",") if o]
    options = list(options or [])
    if any(not isinstance(o, str) or not o or re.search(r"[\s,]", o) for o in options):
        raise OperationError(f"mount options must be words like 'ro' or 'size=1024k', not {options!r}")
    if persist and mounted and not (device and fs_type):
        raise OperationError("persist needs device and fs_type for the fstab line")

    current = (host.fact.mounts or {}).get(path)
    if mounted and current is None:
        args = [f"-t {quote(fs_type)}"] if fs_type else []
        if options:
            args.append(f"-o {quote(','.join(options))}")
        args.append(path_arg(device) if device else "")
        yield " ".join(["mount", *[a for a in args if a], path_arg(path)])
    elif mounted and options and set(options) - set(current["options"]):
        yield f"mount -o {quote(','.join(['remount', *options]))} {path_arg(path)}"
    elif not mounted and current is not None:
        yield f"umount {path_arg(path)}"

    if persist:
        pattern = f"^[^#[:space:]]*[[:space:]][[:space:]]*{escape_bre(fstab_field(path))}[[:space:]]"
        if mounted:
            entry = " ".join(
                [fstab_field(device), fstab_field(path), fs_type, ",".join(options) or "defaults", "0", "0"]
            )
            yield from edit_line(host, fstab_file, pattern, entry, replace=entry)
        else:
            yield from edit_line(host, fstab_file, pattern, "", present=False)
