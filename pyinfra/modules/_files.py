"""Helpers the operations share: quoting paths, modes and owners, atomic uploads and
line edits. Operations of every module build on these; nothing here is an operation."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re

from pyinfra.api import FileUploadCommand, OperationError, quote
from pyinfra.api.command import UNCHANGED
from pyinfra.api.diff import ContentChange, note, note_attributes


def path_arg(path: str) -> str:
    """A path as one shell word that no command can mistake for an option."""
    path = str(path)
    return quote("./" + path if path.startswith("-") else path)


def parse_mode(mode) -> str | None:
    """A file mode as its canonical octal digits ('644'), from 644, '644' or '0644'."""
    if mode is None:
        return None
    if isinstance(mode, bool) or not isinstance(mode, (int, str)):
        raise OperationError(f"mode {mode!r} is not an octal file mode (like 644 or '0755')")
    text = str(mode).strip()
    if not re.fullmatch(r"[0-7]{1,5}", text) or int(text, 8) > 0o7777:
        raise OperationError(f"mode {mode!r} is not an octal file mode (like 644 or '0755')")
    return format(int(text, 8), "o")


def attribute_commands(
    path: str,
    info: dict | None,
    user=None,
    group=None,
    mode=None,
    recursive: bool = False,
    link: bool = False,
    host=None,
):
    """chown / chgrp / chmod `path` where `info` (the file fact; None: a new file)
    differs from what is asked. `mode` is already parsed. With `host`, the changes
    are noted for diffs."""
    if host is not None:
        note_attributes(host, path, info, user, group, None if link else mode)
    info = info or {}
    flag = "-R " if recursive else "-h " if link else ""
    user_differs = bool(user) and info.get("user") != user
    group_differs = bool(group) and info.get("group") != group
    if user_differs or group_differs:
        if user:
            owner = f"{user}:{group}" if group else user
            yield f"chown {flag}{quote(owner)} {path_arg(path)}"
        else:
            yield f"chgrp {flag}{quote(group)} {path_arg(path)}"
    if mode and not link and parse_mode(info.get("mode")) != mode:
        yield f"chmod {flag}{quote(mode)} {path_arg(path)}"


def sha1_of(path: str) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(65536), b""):
            digest.update(block)
    return digest.hexdigest()


def temp_path(remote: str, tag: str) -> str:
    """A hidden temporary path beside `remote`: the same filesystem, so `mv` is atomic."""
    directory, base = posixpath.split(remote)
    suffix = f".pyinfra-{tag}"
    # Stay within NAME_MAX (255 bytes): shorten the name part, never splitting a character.
    room = 255 - 1 - len(suffix.encode())
    base = base.encode()[:room].decode("utf-8", errors="ignore")
    return posixpath.join(directory, f".{base}{suffix}")


def move_into_place(temp: str, remote: str, info, user=None, group=None, mode=None, host=None):
    """Give `temp` its owner and mode, then move it over `remote`. `info`: the file
    fact of `remote` (None when there is no file yet). With `host`, the owner and mode
    changes of `remote` are noted for diffs."""
    if host is not None:
        note_attributes(host, remote, info, user, group, mode)
    # The move replaces the file: keep the owner and mode it had unless told otherwise,
    # as the file fact read them (busybox's chown and chmod have no --reference).
    # Only root may give a file away, so keeping the owner is best effort.
    if info and not (user and group):
        owner = f"{info['user']}:{info['group']}"
        yield f"chown {quote(owner)} {path_arg(temp)} 2>/dev/null || true"
    if info and not mode:
        yield f"chmod {quote(str(info['mode']))} {path_arg(temp)}"
    yield from attribute_commands(temp, None, user, group, mode)
    yield f"mv -f {path_arg(temp)} {path_arg(remote)}"


def upload_commands(
    host, src: str | bytes, sha1: str, remote: str, user=None, group=None, mode=None, create_remote_dir=False
):
    """Put `src` (local path or bytes, whose SHA1 is `sha1`) at `remote` atomically,
    skipping the upload when the remote content is already the same. With
    `create_remote_dir`, a missing parent directory is made first (`mkdir -p`: nothing
    when it exists)."""
    remote_sha1 = host.fact.sha1_file(remote)
    if remote_sha1 == sha1:
        if user or group or mode:
            info = host.fact.file(remote)
            if info:
                yield from attribute_commands(remote, info, user, group, mode, host=host)
        return

    # Read in the same round trip as the SHA1 (its prefetch).
    info = host.fact.file(remote)
    if info is False:
        raise OperationError(f"{remote} exists and is not a file")

    parent = posixpath.dirname(remote.rstrip("/"))
    if info is None and create_remote_dir and parent not in ("", "/", "."):
        yield f"mkdir -p {path_arg(parent)}"
    note(
        host,
        ContentChange(
            remote,
            exists=info is not None,
            new=src,
            new_sha1=sha1,
            old_size=info["size"] if info else None,
            old_sha1=remote_sha1,
        ),
    )
    temp = temp_path(remote, sha1[:12])
    yield FileUploadCommand(src, temp)
    yield from move_into_place(temp, remote, info, user, group, mode, host=host)


def local_path(state, filename, add_deploy_dir: bool = True) -> str:
    """A local file name, relative ones resolved against the deploy directory."""
    path = str(filename)
    if add_deploy_dir and state.deploy_dir and not os.path.isabs(path):
        path = os.path.join(state.deploy_dir, path)
    return path


def escape_bre(text: str) -> str:
    """`text` as a basic regular expression (grep's) matching exactly itself."""
    return re.sub(r"([\\.*\[\]^$])", r"\\\1", text)


def append_line_command(name: str, text: str) -> str:
    path = path_arg(name)
    # A file whose last line has no newline would swallow the new line into it.
    return (
        f'if [ -s {path} ] && [ -n "$(tail -c 1 {path})" ]; then echo >> {path}; fi;'
        f" printf '%s\\n' {quote(text)} >> {path}"
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
        f" 1) {append_line_command(name, text)} ;; *) exit $__pyinfra_s ;; esac"
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
    """Remove `lines` from a file, or replace each with `replace`, keeping the file's
    owner and mode (the result is written back into the same file)."""
    path = path_arg(name)
    env = f"PYINFRA_LINES={quote(chr(10).join('=' + line for line in lines))}"
    if replace is not None:
        env += f" PYINFRA_REPLACE_SET=1 PYINFRA_REPLACE={quote(replace)}"
    return (
        f't=$(mktemp) && {{ {env} awk {quote(REWRITE_AWK)} < {path} > "$t"'
        f' && cat "$t" > {path}; r=$?; rm -f "$t"; [ $r -eq 0 ]; }}'
    )


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
            yield append_line_command(name, text)
        return

    if matches:
        stale = [line for line in matches if line != replace]
        if stale:
            note(host, ContentChange(name, exists, edit=rewritten(stale, replace)))
            yield rewrite_lines_command(name, stale, replace)
        return
    # Nothing to replace: add the replacement line, unless it is there already.
    if not host.fact.find_in_file(name, f"^{escape_bre(replace)}$"):
        note(host, ContentChange(name, exists, edit=appended(replace)))
        yield append_line_command(name, replace)


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


def sed_escape(text: str, newlines: bool = False) -> str:
    """`text` for one side of a sed `s/.../.../` command: bare slashes escaped (escaped
    ones and other backslash sequences kept), newlines escaped in a replacement."""
    out = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            out.append(text[index : index + 2])
            index += 2
            continue
        if char == "/":
            out.append("\\/")
        elif char == "\n" and newlines:
            out.append("\\n")
        else:
            out.append(char)
        index += 1
    return "".join(out)


def download_command(url: str, destination: str) -> str:
    """Fetch `url` into `destination` with curl, or wget where curl is missing; a failed
    download leaves no partial file behind."""
    url, path = quote(url), path_arg(destination)
    return (
        f"{{ if command -v curl >/dev/null 2>&1; then curl -fsSL -o {path} {url};"
        f" else wget -q -O {path} {url}; fi; }} || {{ rm -f {path}; false; }}"
    )
