"""What an operation's changes do to files, for `--diff`: unified diffs of a file's
content, and lines for its mode, owner, group and link target, and for the users and
groups it creates, changes or removes.

Operations note what they change while they are built (`note`), from what they know
then: an upload its new content, a line edit how it rewrites the content, `files.replace`
its sed expression. Nothing more is read for that. Only when a diff is wanted, the
current content of the files whose content changes is read afterwards: for all of a
host's operations in one round trip (`read_contents`), and none when no existing
file's content changes (a new file is all added; a binary upload is described by the
size and SHA1 the build read already).

The new content of `files.replace` is what the host's own sed makes of the current
content (read in that same round trip, changing nothing), so the diff shows exactly
what the run will write, whatever the regular expression; that of `files.line` is
worked out here from the matching lines the build read, as its awk command does.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass
from typing import Any, Callable, Union

from pyinfra.api import context
from pyinfra.api.command import Identity
from pyinfra.api.facts import FactKey

# Files larger than this (bytes) are shown as one line (size and SHA1), not a diff.
MAX_DIFF_BYTES = 256 * 1024


@dataclass(frozen=True)
class AttributeChange:
    """An attribute of a path that an operation changes ("mode", "owner", "group" or
    "link target"); `old` is None when the path is new."""

    path: str
    attribute: str
    old: str | None
    new: str


@dataclass(frozen=True)
class ContentChange:
    """A file whose content an operation changes.

    The new content is one of: `new` (bytes, or the path of a local file) whose SHA1
    is `new_sha1`; `edit`, a function of the current content; `sed`, an expression
    the host's sed applies to the current content. `exists`: the file is there now;
    `old_size` / `old_sha1` when the build read them."""

    path: str
    exists: bool
    new: bytes | str | None = None
    new_sha1: str | None = None
    edit: Callable[[bytes], bytes] | None = None
    sed: str | None = None
    old_size: int | None = None
    old_sha1: str | None = None


@dataclass(frozen=True)
class AccountChange:
    """A user or group (`kind`) that an operation creates, changes or removes
    (`action`), with what is set or changed: ("home /home/x", "shell /bin/sh -> /bin/bash")."""

    kind: str
    name: str
    action: str
    details: tuple[str, ...] = ()

    def line(self) -> str:
        text = f"{self.kind} {self.name} will be {self.action}"
        if self.details and self.action == "changed":
            return f"{text}: {', '.join(self.details)}"
        return f"{text} ({', '.join(self.details)})" if self.details else text


Change = Union[AttributeChange, ContentChange, AccountChange]


def note(host: Any, change: Change) -> None:
    """Record a change of the operation `host` is building (nothing outside a build)."""
    making = context.making_for(host)
    if making is not None:
        making.changes.append(change)


def note_attributes(host: Any, path: str, info: dict | None, user=None, group=None, mode=None) -> None:
    """Record the owner, group and mode changes of `path` (`info`: its file fact, None
    when it is new; `mode` parsed, like '644')."""
    info = info or {}
    for attribute, old, new in (
        ("owner", info.get("user"), user),
        ("group", info.get("group"), group),
        ("mode", show_mode(info.get("mode")), show_mode(mode)),
    ):
        if new and str(old) != str(new):
            note(host, AttributeChange(str(path), attribute, None if old is None else str(old), str(new)))


def show_mode(mode: Any) -> str | None:
    """A mode as four octal digits ('0644'), from 644 or '644'."""
    if mode is None or mode == "":
        return None
    return str(mode).zfill(4)


# -- reading what the diffs need -----------------------------------------------------


def identity(op: Any, config: Any) -> Identity:
    """Whom the operation's facts are read as."""
    kwargs = op.global_kwargs
    sudo = bool(kwargs.get("sudo", config.SUDO))
    return Identity(
        sudo,
        kwargs.get("sudo_user", config.SUDO_USER) if sudo else None,
        kwargs.get("su_user", config.SU_USER),
    )


def needed(change: ContentChange) -> list[tuple]:
    """(fact name, args) of the facts showing `change` needs read."""
    if not change.exists:
        return []
    if change.new is not None and not is_text_source(change.new):
        return []  # binary or large: shown from the size and SHA1 the build read
    if change.sed is not None:
        return [("file_contents", (change.path,)), ("file_contents", (change.path, change.sed))]
    return [("file_contents", (change.path,))]


def fact_keys(state: Any, op: Any) -> list[FactKey]:
    """FactCache keys of what the diffs of `op` need."""
    who = identity(op, state.config)
    keys = []
    for change in op.changes:
        if isinstance(change, ContentChange):
            keys += [FactKey(name, args, who) for name, args in needed(change)]
    return keys


def read_contents(state: Any, host: Any, ops: list, again: bool = False) -> None:
    """Read the current content the diffs of `ops` need, all in one round trip (per
    user they are read as); nothing when none is needed. `again`: read even what was
    read before (an operation made again during the run)."""
    keys = []
    for op in ops:
        keys += [key for key in fact_keys(state, op) if key not in keys]
    known = state.facts.values.setdefault(host, {})
    if again:
        for key in keys:
            known.pop(key, None)
    keys = [key for key in keys if key not in known]
    if keys and host.connected:
        state.facts.read_many([state.facts.make_request(host, key) for key in keys])


# -- showing them ----------------------------------------------------------------------

# Kinds of diff lines, for whoever colours them.
HEADER, HUNK, ADDED, REMOVED, CONTEXT, NOTE = "header", "hunk", "added", "removed", "context", "note"


def is_text_source(new: bytes | str) -> bool:
    """Whether new content (bytes, or a local file's path) can be shown as text."""
    if isinstance(new, str):
        if os.path.getsize(new) > MAX_DIFF_BYTES:
            return False
        with open(new, "rb") as handle:
            new = handle.read()
    return as_text(new) is not None


def as_text(content: bytes | None) -> str | None:
    """`content` as text, or None when it is binary (a NUL, not UTF-8) or too large."""
    if content is None or len(content) > MAX_DIFF_BYTES or b"\0" in content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def describe(size: int | None, sha1: str | None) -> str:
    return f"{size} bytes (sha1 {sha1})"


def change_lines(state: Any, host: Any, op: Any) -> list[tuple[str, str]]:
    """The diff of every change `op` makes on `host`, as (kind, text) lines."""
    lines: list[tuple[str, str]] = []
    who = identity(op, state.config)
    known = state.facts.values.get(host, {})
    for change in op.changes:
        if isinstance(change, AccountChange):
            lines.append((NOTE, f"{host.name}: {change.line()}"))
            continue
        where = f"{host.name}:{change.path}"
        if isinstance(change, AttributeChange):
            text = f"{change.old} -> {change.new}" if change.old is not None else change.new
            lines.append((NOTE, f"{where}: {change.attribute} {text}"))
            continue
        lines += content_lines(where, change, lambda args: known.get(FactKey("file_contents", args, who)))
    return lines


def content_lines(where: str, change: ContentChange, value: Callable[[tuple], Any]) -> list[tuple[str, str]]:
    """The diff of one content change; `value(args)`: the file_contents fact read."""
    from pyinfra.api.facts import FactFailure

    old: dict | None = None
    if change.exists:
        old = value((change.path,))
        if old is None and not needed(change):
            old = {"size": change.old_size, "sha1": change.old_sha1, "content": None}
        if old is None:
            return [(NOTE, f"{where}: no diff (the current content was not read)")]
        if isinstance(old, FactFailure):
            return [(NOTE, f"{where}: no diff ({old.message})")]
    old_bytes = as_bytes(old["content"]) if old else b""

    new_bytes: bytes | None = None
    new_size, new_sha1 = None, change.new_sha1
    if change.new is not None:
        if isinstance(change.new, bytes):
            new_bytes = change.new
            new_size = len(new_bytes)
        else:
            new_size = os.path.getsize(change.new)
            if new_size <= MAX_DIFF_BYTES:
                with open(change.new, "rb") as handle:
                    new_bytes = handle.read()
    elif change.edit is not None:
        if old is not None and old_bytes is None:
            # Larger than MAX_DIFF_BYTES: its content was not read.
            return [(NOTE, f"{where}: large, {describe(old['size'], old['sha1'])} -> lines edited")]
        new_bytes = change.edit(old_bytes or b"")
    elif change.sed is not None:
        new = value((change.path, change.sed))
        if isinstance(new, FactFailure):
            return [(NOTE, f"{where}: no diff ({new.message})")]
        if new is None:
            return [(NOTE, f"{where}: no diff (the new content was not read)")]
        new_bytes, new_size, new_sha1 = as_bytes(new["content"]), new["size"], new["sha1"]
    if new_bytes is not None:
        new_size = len(new_bytes)
        new_sha1 = hashlib.sha1(new_bytes).hexdigest()

    old_text = as_text(old_bytes) if old is not None else ""
    new_text = as_text(new_bytes)
    if old_text is None or new_text is None:
        why = "binary" if is_binary(old_bytes, new_bytes) else "large"
        before = describe(old["size"], old["sha1"]) if old is not None else "new"
        return [(NOTE, f"{where}: {why}, {before} -> {describe(new_size, new_sha1)}")]
    return unified(where if old is not None else "/dev/null", where, old_text, new_text)


def as_bytes(content: str | None) -> bytes | None:
    """The bytes of the file_contents fact's `content`."""
    return None if content is None else content.encode("utf-8", "surrogateescape")


def is_binary(*contents: bytes | None) -> bool:
    """Whether any of these contents (None: not read) is binary rather than large."""
    return any(c is not None and len(c) <= MAX_DIFF_BYTES and as_text(c) is None for c in contents)


def unified(old_name: str, new_name: str, old: str, new: str) -> list[tuple[str, str]]:
    """A unified diff with three lines of context; a last line without a newline is
    followed by diff's own remark saying so."""
    out: list[tuple[str, str]] = []
    diff = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), old_name, new_name, n=3, lineterm=""
    )
    for index, line in enumerate(diff):
        if index < 2:
            out.append((HEADER, line.rstrip("\n")))
        elif line.startswith("@@"):
            out.append((HUNK, line))
        else:
            kind = {"+": ADDED, "-": REMOVED}.get(line[:1], CONTEXT)
            out.append((kind, line[:-1] if line.endswith("\n") else line))
            if not line.endswith("\n"):
                out.append((NOTE, "\\ No newline at end of file"))
    return out
