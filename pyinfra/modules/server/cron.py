"""Cron jobs, through the host's own `crontab` command."""

from __future__ import annotations

import re

from pyinfra.api import OperationError, operation, quote

SPECIAL_TIMES = ("@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
NAME_PREFIX = "# pyinfra-name="

# Rewrites the crontab on stdin: the line equal to $OLD becomes $NEW (several lines,
# or none), a line equal to $DROP goes, and $NEW is appended when there is no $OLD.
# Values come from the environment: awk -v would interpret their backslashes.
EDIT_AWK = (
    'BEGIN { old = ENVIRON["OLD"]; new = ENVIRON["NEW"]; drop = ENVIRON["DROP"] }'
    ' old != "" && $0 == old && !done { if (new != "") print new; done = 1; next }'
    ' drop != "" && $0 == drop { next }'
    " { print }"
    ' END { if (old == "" && new != "") print new }'
)


def schedule_field(name: str, value) -> str:
    """A schedule field as cron writes it: 5, '*/5', [0, 30] -> '0,30'."""
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    text = str(value)
    if isinstance(value, bool) or not re.fullmatch(r"[A-Za-z0-9*/,\-]+", text):
        raise OperationError(f"{name} must be a cron field (5, '*/5', '1-5', [0, 30]), not {value!r}")
    return text


def find_entry(entries: list[dict], command: str, cron_name: str | None) -> dict | None:
    """The job this call manages: the one of that name, else (no job has the name) the
    first unnamed one running the command."""
    if cron_name:
        for entry in entries:
            if entry.get("cron_name") == cron_name:
                return entry
    for entry in entries:
        if entry["command"] == command and not entry.get("cron_name"):
            return entry
    return None


def same_schedule(entry: dict, wanted: dict) -> bool:
    return all(str(entry.get(key)) == str(value) for key, value in wanted.items())


def edit_command(user: str | None, old: str, new: str, drop: str = "") -> str:
    """Rewrite the crontab (of `user`, else the running user's) through a temporary
    file; an empty crontab is a start, any other failure to read it stops."""
    who = f" -u {quote(user)}" if user else ""
    env = f"OLD={quote(old)} NEW={quote(new)} DROP={quote(drop)}"
    # A private directory for the files: nobody can plant a link at their names.
    return (
        f't=$(mktemp -d) && {{ {{ crontab -l{who} > "$t/old" 2> "$t/err"'
        f' || {{ grep -q "^no crontab for " "$t/err" && : > "$t/old"; }}'
        f' || {{ cat "$t/err" >&2; false; }}; }}'
        f' && {env} awk {quote(EDIT_AWK)} "$t/old" > "$t/new" && crontab{who} "$t/new";'
        f' r=$?; rm -rf "$t"; [ $r -eq 0 ]; }}'
    )


@operation
def crontab(
    state,
    host,
    command,
    present=True,
    user=None,
    cron_name=None,
    minute="*",
    hour="*",
    month="*",
    day_of_week="*",
    day_of_month="*",
    special_time=None,
    interpolate_variables=False,
):
    """Ensure a cron job is in a user's crontab with a schedule, or is not; a job whose
    schedule (or, found by name, command) differs is rewritten where it stands.

    + command: the command cron runs (one line)
    + present: whether the job should be in the crontab
    + user: whose crontab (default: the user the operation runs as; another user's
      needs root, so ``sudo=True``)
    + cron_name: a name for the job, kept in a ``# pyinfra-name=NAME`` line above it:
      the job is then found by name, so its command can change; without one, the
      command is what finds it (and must be unique in the crontab)
    + minute: minutes to run at (5, '*/15', [0, 30])
    + hour: hours to run at
    + month: months to run in
    + day_of_week: days of the week (0-7, 0 and 7 are Sunday)
    + day_of_month: days of the month
    + special_time: '@reboot', '@daily', ... instead of the five fields
    + interpolate_variables: accepted for pyinfra's signature; the command is always
      written exactly as given (cron itself expands nothing but ``%``)

    Tested end to end with the real ``crontab`` of Debian's cron package (the daemon
    need not run): added, rewritten, found by name, removed, and unchanged the second time.
    """
    if not isinstance(command, str) or not command.strip() or "\n" in command:
        raise OperationError(f"a cron command must be one line of text, not {command!r}")
    command = command.strip()
    if cron_name is not None and (not str(cron_name).strip() or "\n" in str(cron_name)):
        raise OperationError(f"cron_name must be one line of text, not {cron_name!r}")
    if special_time is not None:
        if special_time not in SPECIAL_TIMES:
            raise OperationError(
                f"special_time must be one of {', '.join(SPECIAL_TIMES)}, not {special_time!r}"
            )
        wanted = dict.fromkeys(("minute", "hour", "day_of_month", "month", "day_of_week"))
        wanted["special_time"] = special_time
        line = f"{special_time} {command}"
    else:
        wanted = {
            "minute": schedule_field("minute", minute),
            "hour": schedule_field("hour", hour),
            "day_of_month": schedule_field("day_of_month", day_of_month),
            "month": schedule_field("month", month),
            "day_of_week": schedule_field("day_of_week", day_of_week),
            "special_time": None,
        }
        line = " ".join(wanted[key] for key in ("minute", "hour", "day_of_month", "month", "day_of_week"))
        line = f"{line} {command}"

    entries = host.fact.crontab(user) if user else host.fact.crontab()
    entry = find_entry(entries or [], command, cron_name)
    name_line = f"{NAME_PREFIX}{cron_name}" if cron_name else ""

    if not present:
        if entry is not None:
            drop = f"{NAME_PREFIX}{entry['cron_name']}" if entry.get("cron_name") else ""
            yield edit_command(user, entry["line"], "", drop)
        return

    if entry is None:
        yield edit_command(user, "", f"{name_line}\n{line}" if name_line else line)
        return
    unchanged = entry["command"] == command and same_schedule(entry, wanted)
    if unchanged and (entry.get("cron_name") or None) == (cron_name or None):
        return
    # An unnamed job adopted by a name gets its name line above it.
    new = f"{name_line}\n{line}" if name_line and not entry.get("cron_name") else line
    yield edit_command(user, entry["line"], new)
