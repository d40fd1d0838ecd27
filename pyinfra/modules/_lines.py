"""Lines in files: matching them with grep's basic regular expressions (BRE), adding,
removing and replacing them, and sed substitutions; what each edit makes of a file, in
Python, for diffs and for checking that an edit converges."""

from __future__ import annotations

import re

from pyinfra.api import OperationError, quote
from pyinfra.api.command import NEW_FILE_MODE, UNCHANGED
from pyinfra.api.diff import ContentChange, note
from pyinfra.modules._files import not_link, path_arg, temp_path
from pyinfra.modules._regex import (  # noqa: F401  (callers import them from here too)
    BRE_ESCAPES,
    POSIX_CLASSES,
    bracket,
    bre_to_python,
    escape_bre,
    sed_escape,
    unescape_bre,
)

# The temporary file of an edit, as the shell names it.
TEMP = '"$__pyinfra_t"'


def replace_file_command(
    name: str, fill: str, create: bool = False, unless: str | None = None, add: str | None = None
) -> str:
    """Shell: `name` holds what `fill` writes to TEMP (reading the file, named in it), or
    nothing happens. Atomic, so a full disk or a second deploy never leaves a torn file:
    TEMP is a new file beside it (mktemp: exclusive, with an unpredictable name), given
    the file's owner, group and mode (a new file, with `create`: the umask's), then moved
    over it. A symbolic link at `name` fails, unfollowed; any failure removes TEMP.
    `unless`: a shell test on TEMP's content that, when true, leaves the file alone;
    `add`: shell code run after it, adding to TEMP."""
    path = path_arg(name)
    keep = (
        f'{{ chown -h "$(stat -c %u:%g {path})" {TEMP} 2>/dev/null || true; }}'
        f' && chmod "$(stat -c %a {path})" {TEMP}'
    )
    if create:
        keep = f"if [ -e {path} ]; then {keep}; else chmod {NEW_FILE_MODE} {TEMP}; fi"
    move = f"{keep} && mv -fT {TEMP} {path}"
    if add:
        move = f"{add} && {move}"
    if unless:
        move = f"if {unless}; then rm -f {TEMP}; else {move}; fi"
    return (
        f"__pyinfra_t=$(mktemp {path_arg(temp_path(name, 'XXXXXXXXXX'))}) && {{ {not_link(name)}"
        f" && {fill} && {move}; }}"
        f" || {{ __pyinfra_s=$?; [ -z {TEMP} ] || rm -f {TEMP}; (exit $__pyinfra_s); }}"
    )


def append_line_command(name: str, text: str, pattern: str, ignore_case: bool = False) -> str:
    """Shell appending `text` to `name` (made when missing) unless one of its lines matches
    `pattern` (grep's BRE) by then: decided on the copy that gets written, so two deploys
    adding the same line at once add it once."""
    path = path_arg(name)
    flags = "-i " if ignore_case else ""
    add = (
        # A file whose last line has no newline would swallow the new line into it.
        f'{{ if [ -s {TEMP} ] && [ -n "$(tail -c 1 {TEMP})" ]; then echo; fi;'
        f" printf '%s\\n' {quote(text)}; }} >> {TEMP}"
    )
    return replace_file_command(
        name,
        f"{{ if [ -e {path} ]; then cat {path}; fi; }} > {TEMP}",
        create=True,
        unless=f"grep -q {flags}-e {quote(pattern)} -- {TEMP}",
        add=add,
    )


def append_line_on_host(name: str, pattern: str, text: str, ignore_case: bool = False) -> str:
    """Shell code appending `text` to `name` unless one of its lines matches `pattern`,
    as find_in_file sees them (a regular file, grep's BRE), and printing UNCHANGED
    then. A file grep cannot read fails, with grep's message."""
    path = path_arg(name)
    flags = "-i " if ignore_case else ""
    return (
        f"if [ -f {path} ]; then grep -q {flags}-e {quote(pattern)} -- {path}; __pyinfra_s=$?;"
        f" else __pyinfra_s=1; fi; case $__pyinfra_s in 0) echo {UNCHANGED} ;;"
        f" 1) {append_line_command(name, text, pattern, ignore_case)} ;; *) (exit $__pyinfra_s) ;; esac"
    )


# Drop (or replace) the lines listed in PYINFRA_LINES, compared whole and literally,
# so the shell and awk never see the user's text as code or as a regular expression.
# Each listed line carries a leading "=" so an empty line survives split().
REWRITE_AWK = (
    'BEGIN { n = split(ENVIRON["PYINFRA_LINES"], lines, "\\n");'
    " for (i = 1; i <= n; i++) wanted[lines[i]] = 1 }"
    ' ("=" $0) in wanted { if (ENVIRON["PYINFRA_REPLACE_SET"] == "1")'
    ' print ENVIRON["PYINFRA_REPLACE"]; next }'
    " { print }"
)


def rewrite_lines_command(name: str, lines: list[str], replace: str | None) -> str:
    """Remove `lines` from a file, or replace each with `replace`, atomically, keeping
    the file's owner and mode (replace_file_command)."""
    path = path_arg(name)
    env = f"PYINFRA_LINES={quote(chr(10).join('=' + line for line in lines))}"
    if replace is not None:
        env += f" PYINFRA_REPLACE_SET=1 PYINFRA_REPLACE={quote(replace)}"
    return replace_file_command(name, f"{env} awk {quote(REWRITE_AWK)} < {path} > {TEMP}")


def edit_line(
    host,
    name: str,
    pattern: str,
    text: str,
    present: bool = True,
    replace: str | None = None,
    ignore_case: bool = False,
):
    """Make the lines of `name` matching `pattern` (a BRE) be present (adding `text`),
    absent, or replaced by `replace`."""
    fact_args = (name, pattern, True) if ignore_case else (name, pattern)
    matches = host.fact.find_in_file(*fact_args)

    exists = matches is not None

    if not present:
        if matches:
            note(host, ContentChange(name, exists, edit=rewritten(matches, None)))
            yield rewrite_lines_command(name, matches, None)
        return

    if replace is None:
        if not matches:
            note(host, ContentChange(name, exists, edit=appended(text)))
            yield append_line_command(name, text, pattern, ignore_case)
        return

    if matches:
        stale = [line for line in matches if line != replace]
        if stale:
            note(host, ContentChange(name, exists, edit=rewritten(stale, replace)))
            yield rewrite_lines_command(name, stale, replace)
        return
    # Nothing to replace: add the replacement line, unless it is there already.
    exact = f"^{escape_bre(replace)}$"
    if not host.fact.find_in_file(name, exact):
        note(host, ContentChange(name, exists, edit=appended(replace)))
        yield append_line_command(name, replace, exact)


# What the commands above make of a file's content, for diffs: the same edit, in Python.


def appended(text: str):
    def edit(content: bytes) -> bytes:
        if content and not content.endswith(b"\n"):
            content += b"\n"  # as append_line_command: the last line is ended first
        return content + text.encode("utf-8", "surrogateescape") + b"\n"

    return edit


def rewritten(lines: list[str], replace: str | None):
    wanted = set(lines)

    def edit(content: bytes) -> bytes:
        # As REWRITE_AWK: records are lines, compared whole; each is printed ended by
        # a newline (a last line without one gets one).
        records = content.decode("utf-8", "surrogateescape").split("\n")
        if records[-1] == "":
            records.pop()
        out = []
        for record in records:
            if record not in wanted:
                out.append(record)
            elif replace is not None:
                out.append(replace)
        return "".join(record + "\n" for record in out).encode("utf-8", "surrogateescape")

    return edit


def parse_line_flags(flags) -> bool:
    """sed-style flags of files.line; returns whether to ignore case."""
    if not flags:
        return False
    ignore_case = False
    for flag in flags:
        if flag in ("i", "I"):
            ignore_case = True
        elif flag != "g":
            raise OperationError(f"unsupported flag {flag!r}: files.line knows 'i' (ignore case)")
    return ignore_case


# grep's and sed's basic regular expressions in Python's syntax, so an operation can
# tell at build time what its edit makes of the lines the facts read.

BRE_ESCAPES.update({c: "\\" + c for c in "wWsSbB123456789"})
BRE_ESCAPES.update({"<": r"\b(?=\w)", ">": r"\b(?<=\w)"})


def line_pattern(line: str) -> str:
    """files.line's regular expression: matching anywhere in a line unless anchored."""
    pattern = line
    if not pattern.startswith("^"):
        pattern = f"^.*{pattern}"
    if not pattern.endswith("$") or pattern.endswith("\\$"):
        pattern = f"{pattern}.*$"
    return pattern


# An unescaped star or bracket, or a backslash that makes an operator: what makes an
# expression match more than one line.
REGEX_OPERATOR = re.compile(r"(?<!\\)(?:\\\\)*(?:[*[]|\\[(){}|+?wWsSbB<>0-9])")


def line_text(line: str, ignore_case: bool) -> str:
    """The line files.line writes for `line` when no replacement is given: the
    expression without its anchors, its escapes undone (``^127\\.0\\.0\\.1$`` writes
    ``127.0.0.1``). An OperationError when the line is anchored and still a regular
    expression (``^key=.*$``: which line to write?), or when the line written would not
    match the expression: it would be added again on every deploy."""
    text = line
    anchored = text.startswith("^") or (text.endswith("$") and not text.endswith("\\$"))
    if text.startswith("^"):
        text = text[1:]
    if text.endswith("$") and not text.endswith("\\$"):
        text = text[:-1]
    if anchored and REGEX_OPERATOR.search(text):
        raise OperationError(
            f"files.line: {line!r} is a regular expression, not a line to add: give the"
            " line to write with replace= (or escape its special characters)"
        )
    text = unescape_bre(text)
    python = bre_to_python(line_pattern(line))
    if python is not None and not re.search(python, text, re.IGNORECASE if ignore_case else 0):
        raise OperationError(
            f"files.line: the line {text!r} does not match {line!r}, so it would be added"
            " again on every deploy: give the line to write with replace="
        )
    return text


def sed_replacement(replace: str):
    """sed's replacement text (``&``, ``\\1``, ``\\n``) as a function of a match."""

    def expand(match: re.Match) -> str:
        out, index = [], 0
        while index < len(replace):
            char = replace[index]
            if char == "&":
                out.append(match.group(0))
            elif char == "\\" and index + 1 < len(replace):
                index += 1
                nxt = replace[index]
                if nxt.isdigit():
                    out.append(match.group(int(nxt)) or "")
                else:
                    out.append("\n" if nxt == "n" else nxt)
            else:
                out.append(char)
            index += 1
        return "".join(out)

    return expand


def substituted(lines: list[str], match: str, replace: str, flags: str) -> list[str] | None:
    """What sed's ``s/match/replace/flags`` makes of each line; None when it cannot be
    told here (an expression Python cannot read, a numbered flag)."""
    python = bre_to_python(match)
    if python is None or any(flag.isdigit() for flag in flags):
        return None
    try:
        regex = re.compile(python, re.IGNORECASE if "i" in flags or "I" in flags else 0)
        expand = sed_replacement(replace)
        return [regex.sub(expand, line, count=0 if "g" in flags else 1) for line in lines]
    except (re.error, IndexError):  # a group the expression does not have
        return None


def replace_commands(host, name: str, match: str, replace: str, flags: str):
    """files.replace's sed, when it changes a matching line. An OperationError when
    applying it again would change the lines again: it could never converge."""
    ignore_case = "i" in flags or "I" in flags
    matches = host.fact.find_in_file(*((name, match, True) if ignore_case else (name, match)))
    # None: the file is not there now; it may be by the time this runs.
    if matches == []:
        return
    if matches:
        once = substituted(matches, match, replace, flags)
        if once is not None:
            twice = substituted(once, match, replace, flags)
            for first, second in zip(once, twice):
                if first != second:
                    raise OperationError(
                        f"files.replace: replacing {match!r} with {replace!r} matches again"
                        f" ({first!r} would become {second!r}), so the file would change on"
                        " every deploy: write an expression the replaced line no longer matches"
                    )
            if once == matches:
                return  # every matching line reads as the replacement makes it already
    expression = f"s/{sed_escape(match)}/{sed_escape(str(replace), newlines=True)}/{flags}"
    # Its diff shows what the host's own sed makes of the file (api/diff.py).
    note(host, ContentChange(name, exists=matches is not None, sed=expression))
    # sed -i would write through a link, and GNU's leaves its temporary file on a full disk.
    yield replace_file_command(name, f"sed {quote(expression)} < {path_arg(name)} > {TEMP}")
