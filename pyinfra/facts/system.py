"""Facts about the system's configuration: cron tables, kernel parameters, mounts,
the timezone and the generated locales."""

from __future__ import annotations

import re

from pyinfra.api import FactBase, quote
from pyinfra.api.facts import ABSENT

CRON_NAME = re.compile(r"^#\s*pyinfra-name=(.*)$")
CRON_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*[ \t]*=")
CRON_FIELDS = ("minute", "hour", "day_of_month", "month", "day_of_week")


def parse_cron_line(line: str) -> dict:
    """One job line of a crontab: its schedule fields (or `special_time`) and command."""
    if line.startswith("@"):
        special, _, command = line.partition(" ")
        entry = dict.fromkeys(CRON_FIELDS)
        entry.update(special_time=special, command=command.strip())
        return entry
    fields = line.split(None, 5)
    if len(fields) < 6:
        raise ValueError(f"crontab line not understood: {line!r}")
    entry = dict(zip(CRON_FIELDS, fields[:5]))
    entry.update(special_time=None, command=fields[5])
    return entry


class Crontab(FactBase):
    """The jobs of a user's crontab (the user the fact is read as when `user` is None),
    in order: a list of `{command, minute, hour, day_of_month, month, day_of_week,
    special_time, cron_name, line}`; `cron_name` is the name a ``# pyinfra-name=NAME``
    line just above gives it (server.crontab writes those), `line` the job's line as
    written. A user without a crontab has `[]`; one crontab cannot read (no such user,
    no permission) is an error."""

    requires_command = "crontab"
    default = list

    def command(self, user=None):
        who = f" -u {quote(user)}" if user else ""
        # crontab -l says "no crontab for USER" (exit 1) for an empty one: that alone
        # is an answer; any other failure is the host's error, passed on.
        return (
            f'if out=$(crontab -l{who} 2>&1); then printf "%s\\n" "$out";'
            f' else case $out in "no crontab for "*) echo {ABSENT};;'
            f' *) printf "%s\\n" "$out" >&2; false;; esac; fi'
        )

    def process(self, output):
        entries, name = [], None
        for raw in output:
            line = raw.strip()
            if not line:
                continue
            if line.startswith("#"):
                match = CRON_NAME.match(line)
                name = match.group(1).strip() if match else name
                continue
            if CRON_VARIABLE.match(line):
                continue
            entry = parse_cron_line(line)
            entry.update(cron_name=name, line=raw)
            entries.append(entry)
            name = None
        return entries


def sysctl_path(key: str) -> str:
    """/proc/sys/... for a key written with dots (net.ipv4.ip_forward) or slashes."""
    return "/proc/sys/" + (key if "/" in key else key.replace(".", "/"))


def parse_sysctl_value(text: str):
    """`1` -> 1, `32768\\t60999` -> [32768, 60999], other text as it is."""
    words = text.split()
    values = [int(word) if re.fullmatch(r"-?\d+", word) else word for word in words]
    if len(values) == 1:
        return values[0]
    if values and all(isinstance(value, int) for value in values):
        return values
    return text.strip()


class Sysctl(FactBase):
    """A kernel parameter's current value (`sysctl -n KEY`): an int, a list of ints
    (`net.ipv4.ip_local_port_range`), or text; None when Linux has no such key. A key
    that exists but cannot be read is an error."""

    def command(self, key):
        path = quote(sysctl_path(key))
        return f"if [ -d /proc/sys ] && ! [ -e {path} ]; then echo {ABSENT}; else sysctl -n {quote(key)}; fi"

    def process(self, output):
        return parse_sysctl_value(" ".join(output))


def unescape_mount_field(text: str) -> str:
    """/proc/mounts writes a space in a path as \\040 (tab, newline, backslash too)."""
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), text)


MOUNT_LINE = re.compile(r"^(\S+) on (.+) \(([^,)]+)(?:, ([^)]*))?\)$")


class Mounts(FactBase):
    """The mounted filesystems by mount point: `{path: {device, type, options}}`,
    `options` a list ("rw", "size=1024k"); a path mounted over keeps its last mount.
    Read from /proc/self/mounts on Linux, from `mount` elsewhere."""

    command = "if [ -r /proc/self/mounts ]; then cat /proc/self/mounts; else mount; fi"
    default = dict

    def process(self, output):
        mounts = {}
        for line in output:
            parts = line.split()
            if len(parts) == 6 and parts[4].isdigit():
                device, path, fs_type, options = (unescape_mount_field(part) for part in parts[:4])
                mounts[path] = {"device": device, "type": fs_type, "options": options.split(",")}
                continue
            match = MOUNT_LINE.match(line)
            if not match:
                raise ValueError(f"mount line not understood: {line!r}")
            device, path, fs_type, options = match.groups()
            mounts[path] = {
                "device": device,
                "type": fs_type,
                "options": [o.strip() for o in (options or "").split(",") if o.strip()],
            }
        return mounts


class Timezone(FactBase):
    """The system timezone's name ('Europe/Paris'): what /etc/localtime links to under
    zoneinfo/, else /etc/timezone; None when neither says."""

    command = (
        "if [ -L /etc/localtime ]; then readlink /etc/localtime;"
        " elif [ -f /etc/timezone ]; then cat /etc/timezone;"
        f" else echo {ABSENT}; fi"
    )

    def process(self, output):
        text = " ".join(output).strip()
        if "zoneinfo/" in text:
            return text.split("zoneinfo/", 1)[1]
        return text or None


def normal_locale(name: str) -> str:
    """A locale name as glibc lists it: en_GB.UTF-8 -> en_GB.utf8 (codeset lowercase,
    without punctuation), so a name matches however it is written."""
    base, dot, rest = name.partition(".")
    if not dot:
        return name
    codeset, at, modifier = rest.partition("@")
    return f"{base}.{re.sub(r'[^a-z0-9]', '', codeset.lower())}{at}{modifier}"


class Locales(FactBase):
    """The locales the host has generated (`locale -a`), sorted, as glibc names them
    ('en_GB.utf8'); C and POSIX are among them."""

    requires_command = "locale"
    command = "locale -a"
    default = list

    def process(self, output):
        return sorted(line.strip() for line in output if line.strip())
