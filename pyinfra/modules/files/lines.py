"""files.line, files.block and files.replace: lines in a file, matched by grep's and
sed's basic regular expressions."""

from __future__ import annotations

from pyinfra.api import OperationError, operation
from pyinfra.api.diff import ContentChange, note
from pyinfra.modules._lines import (
    append_line_on_host,
    edit_line,
    line_pattern,
    line_text,
    parse_line_flags,
    replace_commands,
)
from pyinfra.modules.files._block import block_commands, block_edit, content_lines, markers, placement


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


@operation
def block(
    state,
    host,
    path,
    content=None,
    present=True,
    line=None,
    before=False,
    after=False,
    marker=None,
    begin=None,
    end=None,
    escape_regex_characters=False,
):
    """Ensure a block of lines, between a begin and an end marker line, is in a file
    with this content, or is not.

    + path: path of the remote file (created, with the block, when it is missing)
    + content: the block's lines: a string (one final newline is ignored) or a list of
      lines; a ``secret()`` is shown as ``***``
    + present: whether the block should be in the file; False removes it, markers
      included (``content`` and ``line`` are not needed then)
    + line: basic regular expression (grep's, as ``files.line``) of the line a new
      block goes next to: the first line it matches; no such line: the block goes last
    + before: a new block goes before ``line`` (without ``line``: first in the file)
    + after: a new block goes after ``line`` (without ``line``: last, the default)
    + marker: the marker lines, ``{mark}`` standing for ``begin`` or ``end``: default
      ``# {mark} PYINFRA BLOCK``
    + begin: what ``{mark}`` is in the first marker line: default ``BEGIN``
    + end: what ``{mark}`` is in the last marker line: default ``END``
    + escape_regex_characters: ``line`` is literal text, not a regular expression

    The block is found by its markers, compared with whole lines: one whose lines
    differ is rewritten where it stands, one that is there already is left alone
    (wherever it is). A second block with the same markers is removed; a begin marker
    without an end marker after it is an error, and the file is left as it is. The
    file is written to a new file beside it that is moved over it, keeping its owner
    and mode; a symbolic link is refused.
    """
    begin_line, end_line = markers(marker, begin, end)
    info = host.fact.file(path)
    if info is False:
        raise OperationError(f"{path} exists and is not a file")
    blocks = host.fact.file_block(path, begin_line, end_line)
    if not present:
        if blocks:
            note(host, ContentChange(path, True, edit=block_edit(begin_line, end_line, None, None, "after")))
            yield from block_commands(path, info, begin_line, end_line, None, None, "after")
        return
    if content is None:
        raise OperationError("files.block: give the block's content (or present=False)")
    lines = content_lines(content, begin_line, end_line)
    pattern, where = placement(line, before, after, escape_regex_characters)
    if blocks == [lines]:
        return
    edit = block_edit(begin_line, end_line, lines, pattern, where)
    note(host, ContentChange(path, info is not None, edit=edit))
    yield from block_commands(path, info, begin_line, end_line, lines, pattern, where)


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
