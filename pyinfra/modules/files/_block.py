"""files.block's edit: the shell and awk that put, replace or remove a marked block on
the host, and the same edit in Python, for diffs."""

from __future__ import annotations

import hashlib
import re

from pyinfra.api import OperationError, quote
from pyinfra.modules._files import path_arg, temp_path
from pyinfra.modules._lines import bre_to_python, escape_bre

MARKER = "# {mark} PYINFRA BLOCK"
BEGIN, END = "BEGIN", "END"
# The content travels in an environment variable, which Linux caps at 128 KiB.
MAX_CONTENT = 100 * 1024

# Reads the whole file, then prints it with the first block (from a line reading
# PYINFRA_BEGIN to the next reading PYINFRA_END) holding PYINFRA_CONTENT, or gone
# (PYINFRA_PRESENT=0), and any later block gone. Without a block, it goes before or
# after line PYINFRA_AT (PYINFRA_WHERE), or last when there is no such line. A begin
# line without an end line fails: the rest of the file would be taken for the block.
# Lines are compared whole, as strings; the user's text never becomes awk code.
BLOCK_AWK = (
    'function put() { print b; printf "%s", ENVIRON["PYINFRA_CONTENT"]; print e }'
    ' { l[NR] = $0 "" }'
    ' END { b = ENVIRON["PYINFRA_BEGIN"] ""; e = ENVIRON["PYINFRA_END"] "";'
    ' keep = ENVIRON["PYINFRA_PRESENT"] == "1"; at = ENVIRON["PYINFRA_AT"] + 0;'
    ' where = ENVIRON["PYINFRA_WHERE"]; first = 0; o = 0;'
    " for (i = 1; i <= NR; i++) {"
    " if (!o && l[i] == b) o = i;"
    " else if (o && l[i] == e) { stop[o] = i; if (!first) first = o; o = 0 } }"
    ' if (o) { print "files.block: line " o " begins a block that never ends" | "cat 1>&2"; exit 3 }'
    " add = keep && !first;"
    " for (i = 1; i <= NR; i++) {"
    " if (i in stop) { if (keep && i == first) put(); i = stop[i]; continue }"
    ' if (add && i == at && where == "before") put();'
    " print l[i];"
    ' if (add && i == at && where == "after") put() }'
    " if (add && (at < 1 || at > NR)) put() }"
)


def markers(marker, begin, end) -> tuple[str, str]:
    """The begin and end lines: `marker` with ``{mark}`` replaced by `begin` / `end`."""
    marker = MARKER if marker is None else str(marker)
    lines = (marker.replace("{mark}", str(begin or BEGIN)), marker.replace("{mark}", str(end or END)))
    for text in lines:
        if not text.strip() or "\n" in text:
            raise OperationError(f"files.block: a marker must be one non-empty line, not {text!r}")
    if lines[0] == lines[1]:
        raise OperationError(
            f"files.block: the begin and end markers are both {lines[0]!r}: put {{mark}} in marker"
        )
    return lines


def content_lines(content, begin_line: str, end_line: str) -> list[str]:
    """The block's lines: a string split at its newlines (one final newline ignored),
    or a list of lines."""
    if isinstance(content, str):
        text = content[:-1] if content.endswith("\n") else content
        lines = text.split("\n") if text else []
    elif isinstance(content, (list, tuple)) and all(isinstance(line, str) for line in content):
        lines = list(content)
        if any("\n" in line for line in lines):
            raise OperationError("files.block: a line of a content list cannot hold a newline")
    else:
        raise OperationError(f"files.block: content must be a string or a list of lines, not {content!r}")
    for line in lines:
        if line in (begin_line, end_line):
            # The block would end (or begin) inside itself: it could never be read back.
            raise OperationError(f"files.block: the content holds the marker line {line!r}")
    if len("".join(lines)) + len(lines) > MAX_CONTENT:
        raise OperationError(
            f"files.block: content over {MAX_CONTENT} bytes: use files.put or files.template"
        )
    return lines


def placement(line, before: bool, after: bool, escape: bool) -> tuple[str | None, str]:
    """(grep's expression for the line the block goes next to, or None; "before" or
    "after" it). Without `line`: first with `before`, else last."""
    if before and after:
        raise OperationError("files.block: give before=True or after=True, not both")
    if line is None:
        return None, "before" if before else "after"
    if not isinstance(line, str) or not line:
        raise OperationError("files.block: line must be a non-empty regular expression")
    if not (before or after):
        raise OperationError("files.block: with line, say where the block goes: before=True or after=True")
    pattern = escape_bre(line) if escape else line
    if bre_to_python(pattern) is None:
        raise OperationError(f"files.block: {line!r} is not a basic regular expression (grep's) it can read")
    return pattern, "before" if before else "after"


def block_commands(
    name: str, info, begin_line: str, end_line: str, lines, pattern: str | None, where: str
) -> list[str]:
    """The commands writing the file with its block as `lines` (None: without it) to
    a new file beside it, then moving that over it, keeping its owner and mode. The
    new file is created exclusively (set -C), so nothing planted at its name is
    followed; a link at `name` itself is replaced, never written through."""
    present = lines is not None
    content = "".join(line + "\n" for line in lines or [])
    tag = hashlib.sha1("\0".join((begin_line, end_line, str(present), content)).encode()).hexdigest()
    temp, path = temp_path(name, f"block-{tag[:12]}"), path_arg(name)
    temp_arg = path_arg(temp)
    env = (
        f"LC_ALL=C PYINFRA_BEGIN={quote(begin_line)} PYINFRA_END={quote(end_line)}"
        f" PYINFRA_CONTENT={quote(content)} PYINFRA_PRESENT={int(present)}"
        f' PYINFRA_WHERE={where} PYINFRA_AT="$__pyinfra_at"'
    )
    if info is None:
        source, find = "/dev/null", "__pyinfra_at= "
    else:
        source = path
        # Where the block would go: the number of the first matching line (none: 0).
        find = "__pyinfra_at=1 " if where == "before" else "__pyinfra_at= "
        if present and pattern is not None:
            find = (
                f"__pyinfra_at=$(grep -n -e {quote(pattern)} -- {path}); [ $? -le 1 ]"
                " && __pyinfra_at=${__pyinfra_at%%:*} "
            )
    write = f"(umask 077 && set -C && export {env} && exec awk {quote(BLOCK_AWK)} < {source} > {temp_arg})"
    cleanup = f"{{ __pyinfra_w=$?; rm -f {temp_arg}; (exit $__pyinfra_w); }}"
    commands = [f"{find}&& rm -f {temp_arg} && {write} || {cleanup}"]
    if info is None:
        # As a new file anywhere: the mode the umask gives (it was made 0600).
        commands.append(f"chmod $(printf %o $((0666 & ~0$(umask)))) {temp_arg}")
    else:
        # Only root may give a file away: keeping the owner is best effort.
        owner = quote(f"{info['user']}:{info['group']}")
        commands.append(f"chown {owner} {temp_arg} 2>/dev/null || true")
        commands.append(f"chmod {quote(str(info['mode']))} {temp_arg}")
    commands.append(f"mv -f {temp_arg} {path}")
    return commands


def block_edit(begin_line: str, end_line: str, lines, pattern: str | None, where: str):
    """What BLOCK_AWK makes of a file's content (for diffs): the same edit in Python."""
    regex = re.compile(bre_to_python(pattern)) if pattern is not None else None

    def edit(content: bytes) -> bytes:
        records = content.decode("utf-8", "surrogateescape").split("\n")
        if records[-1] == "":
            records.pop()
        spans, start = [], None
        for index, record in enumerate(records):
            if start is None and record == begin_line:
                start = index
            elif start is not None and record == end_line:
                spans.append((start, index))
                start = None
        block = [] if lines is None else [begin_line, *lines, end_line]
        out: list[str] = []
        if spans:
            index = 0
            for number, (first, last) in enumerate(spans):
                out += records[index:first] + (block if number == 0 else [])
                index = last + 1
            out += records[index:]
        else:
            at = next((i for i, r in enumerate(records) if regex.search(r)), None) if regex else None
            if regex is None and where == "before":
                at = 0 if records else None
            if at is None:
                out = records + block
            else:
                cut = at if where == "before" else at + 1
                out = records[:cut] + block + records[cut:]
        return "".join(record + "\n" for record in out).encode("utf-8", "surrogateescape")

    return edit
