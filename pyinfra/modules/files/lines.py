"""files.line and files.replace: lines in a file, matched by grep's and sed's basic
regular expressions."""

from __future__ import annotations

from pyinfra.api import OperationError, operation
from pyinfra.modules._lines import (
    append_line_on_host,
    edit_line,
    line_pattern,
    line_text,
    parse_line_flags,
    replace_commands,
)


@operation
def line(state, host, name, line, present=True, replace=None, flags=None):
    """Ensure a line is in a file, is not, or is replaced by another.

    + name: path of the remote file (created when a line is added to a missing file)
    + line: basic regular expression (grep's) matching the line; unless anchored with
      ``^`` / ``$`` it matches anywhere in a line. When missing, the expression is
      added without its anchors and escapes (``^127\\.0\\.0\\.1$`` adds
      ``127.0.0.1``); an expression that line would not match (``^key=.*$``) needs
      ``replace``, else the operation fails before it runs
    + present: whether a matching line should be in the file; False removes every match
    + replace: text that replaces every matching line (whole line, taken literally);
      appended when nothing matches and it is not in the file yet
    + flags: sed-style flags: 'i' matches ignoring case ('g' is accepted, lines are
      always replaced whole)
    """
    ignore_case = parse_line_flags(flags)
    text = line_text(line, ignore_case) if present and replace is None else line
    yield from edit_line(host, name, line_pattern(line), text, present, replace, ignore_case)


def line_on_host(state, host, name, line, present=True, replace=None, flags=None):
    """files.line deciding on the host (HostOperation.decide), for a dependent call in
    an --no-wait chain: whether the line is there is checked there. None when lines
    are removed or replaced: those are planned from the file's lines."""
    if not present or replace is not None:
        return None
    ignore_case = parse_line_flags(flags)
    return [append_line_on_host(name, line_pattern(line), line_text(line, ignore_case), ignore_case)]


line.operation_function.on_host = line_on_host


SED_FLAGS = set("gIi0123456789")


@operation
def replace(state, host, name, match, replace, flags=None):
    """Replace text in a file with sed, wherever a basic regular expression matches.

    + name: path of the remote file
    + match: basic regular expression (sed's and grep's) to find
    + replace: replacement text; ``&`` and ``\\1`` refer to the match as in sed
    + flags: sed flags of the substitution, a string or a list (``['g', 'i']``, as in
      0.1): 'g' (every match in a line, not just the first), 'i' (ignore case), a
      number (only that match)

    Nothing is done when no line matches, or when every matching line already reads as
    the replacement makes it. A replacement the expression matches again (replacing
    ``a`` with ``aa``) would change the file on every deploy: that is an error before
    anything runs.
    """
    if isinstance(flags, (list, tuple)) and all(isinstance(flag, str) for flag in flags):
        flags = "".join(flags)
    flags = flags or ""
    if not isinstance(flags, str) or not set(flags) <= SED_FLAGS:
        raise OperationError(f"unsupported flags {flags!r}: use g, i or a number")
    if not isinstance(match, str) or not match:
        raise OperationError("match must be a non-empty regular expression")
    yield from replace_commands(host, name, match, str(replace), flags)
