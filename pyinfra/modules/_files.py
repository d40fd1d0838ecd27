"""Helpers the operations share: quoting paths, modes and owners, atomic uploads and
line edits. Operations of every module build on these; nothing here is an operation."""

from __future__ import annotations

import functools
import hashlib
import os
import posixpath
import re
import secrets
from typing import TYPE_CHECKING

from pyinfra.api import FileUploadCommand, OperationError, quote
from pyinfra.api.diff import ContentChange, note, note_attributes

if TYPE_CHECKING:
    import jinja2


# In the name of every temporary file this run makes beside a target: unpredictable, so
# nobody can plant a link at the name before the run makes it, and this run's own, so two
# deploys writing the same file at once never share a temporary file.
RUN_TAG = secrets.token_hex(6)


def path_arg(path: str) -> str:
    """A path as one shell word that no command can mistake for an option."""
    path = str(path)
    return quote("./" + path if path.startswith("-") else path)


def not_link(path: str) -> str:
    """Shell test that fails, saying why, when `path` is a symbolic link: nothing is
    changed through a link that appeared after the facts were read (a user who may
    write the directory can plant one; chmod, touch and redirections follow links)."""
    return (
        f"{{ [ ! -L {path_arg(path)} ] || {{ printf '%s: is a symbolic link: not followed\\n'"
        f" {path_arg(path)} >&2; false; }}; }}"
    )


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
    # -h: chown changes a link itself, never what it points to; chmod cannot, so a link
    # at the path (planted after the facts were read) fails the operation instead.
    flag = "-hR " if recursive else "-h "
    guard = "" if link else f"{not_link(path)} && "
    user_differs = bool(user) and info.get("user") != user
    group_differs = bool(group) and info.get("group") != group
    if user_differs or group_differs:
        if user:
            owner = f"{user}:{group}" if group else user
            yield f"{guard}chown {flag}{quote(owner)} {path_arg(path)}"
        else:
            yield f"{guard}chgrp {flag}{quote(group)} {path_arg(path)}"
    if mode and not link and parse_mode(info.get("mode")) != mode:
        yield f"{guard}chmod {'-R ' if recursive else ''}{quote(mode)} {path_arg(path)}"


def touch_command(name: str, new: bool) -> str:
    """Shell: `touch` the file, which must not be a link (touch follows one). A `new`
    one is created exclusively (noclobber), so a link planted after the facts were read
    is never followed; one another deploy made meanwhile is simply touched."""
    touch = f"{not_link(name)} && touch {path_arg(name)}"
    if not new:
        return touch
    return f"{{ (set -C && : > {path_arg(name)}) 2>/dev/null || {{ {touch}; }}; }}"


def sha1_of(path: str) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(65536), b""):
            digest.update(block)
    return digest.hexdigest()


def temp_path(remote: str, tag: str | None = None) -> str:
    """A hidden temporary path beside `remote`: the same filesystem, so `mv` is atomic.
    Its `tag` is this run's RUN_TAG unless given."""
    directory, base = posixpath.split(remote)
    tag = RUN_TAG if tag is None else tag
    suffix = f".pyinfra-{tag}"
    # Stay within NAME_MAX (255 bytes): shorten the name part, never splitting a character.
    room = 255 - 1 - len(suffix.encode())
    # (A name that is not UTF-8, read from the host, holds surrogate escapes.)
    base = base.encode("utf-8", "surrogateescape")[:room].decode("utf-8", errors="ignore")
    return posixpath.join(directory, f".{base}{suffix}")


def move_into_place(temp: str, remote: str, info, user=None, group=None, mode=None, host=None):
    """Give `temp` its owner and mode, then move it over `remote`. `info`: the file
    fact of `remote` (None when there is no file yet). With `host`, the owner and mode
    changes of `remote` are noted for diffs."""
    if host is not None:
        note_attributes(host, remote, info, user, group, mode)
    # One command, so a failure (a full disk, a user who swapped the temporary file for
    # a link) removes the temporary file. The move replaces the file, or a link put in
    # its place (rename never follows one; -T refuses a directory): keep the owner and
    # mode the file had unless told otherwise, as the file fact read them (busybox's
    # chown and chmod have no --reference). Only root may give a file away, so keeping
    # the owner is best effort. Owners first: a chown clears setuid bits.
    temp_arg = path_arg(temp)
    steps = []
    if info and info.get("user") and not (user and group):
        owner = f"{info['user']}:{info['group']}"
        steps.append(f"{{ chown -h {quote(owner)} {temp_arg} 2>/dev/null || true; }}")
    if user:
        steps.append(f"chown -h {quote(f'{user}:{group}' if group else user)} {temp_arg}")
    elif group:
        steps.append(f"chgrp -h {quote(group)} {temp_arg}")
    mode = mode or (info and str(info["mode"]))
    if mode:
        steps.append(f"{not_link(temp)} && chmod {quote(mode)} {temp_arg}")
    steps.append(f"mv -fT {temp_arg} {path_arg(remote)}")
    yield f"{{ {' && '.join(steps)}; }} || {{ __pyinfra_s=$?; rm -f {temp_arg}; (exit $__pyinfra_s); }}"


def upload_commands(
    host, src: str | bytes, sha1: str, remote: str, user=None, group=None, mode=None, create_remote_dir=False
):
    """Put `src` (local path or bytes, whose SHA1 is `sha1`) at `remote` atomically,
    skipping the upload when the remote content is already the same. With
    `create_remote_dir`, a missing parent directory is made first (`mkdir -p`: nothing
    when it exists)."""
    remote_sha1 = host.fact.sha1_file(remote)
    # Read in the same round trip as the SHA1 (its prefetch). A link (whose target's
    # SHA1 the fact reads) is no file: nothing is done through it.
    info = host.fact.file(remote)
    if info is False:
        raise OperationError(f"{remote} exists and is not a file")
    if remote_sha1 == sha1:
        if info and (user or group or mode):
            yield from attribute_commands(remote, info, user, group, mode, host=host)
        return

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
    temp = temp_path(remote)
    yield FileUploadCommand(src, temp)
    yield from move_into_place(temp, remote, info, user, group, mode, host=host)


def local_path(state, filename, add_deploy_dir: bool = True) -> str:
    """A local file name, relative ones resolved against the deploy directory."""
    path = str(filename)
    if add_deploy_dir and state.deploy_dir and not os.path.isabs(path):
        path = os.path.join(state.deploy_dir, path)
    return path


def download_command(url: str, destination: str) -> str:
    """Fetch `url` into `destination` with curl, or wget where curl is missing; a failed
    download leaves no partial file behind."""
    url, path = quote(url), path_arg(destination)
    return (
        f"{{ if command -v curl >/dev/null 2>&1; then curl -fsSL -o {path} {url};"
        f" else wget -q -O {path} {url}; fi; }} || {{ rm -f {path}; false; }}"
    )


def same_link_target(name: str, current: str, wanted: str) -> bool:
    """Whether a link at `name` pointing at `current` names the `wanted` path. Relative
    targets are read from the link's directory, as the kernel reads them; only an
    absolute link name has a directory to read them from."""
    if current == wanted:
        return True
    if not posixpath.isabs(name):
        return False
    directory = posixpath.dirname(name)
    return posixpath.normpath(posixpath.join(directory, current)) == posixpath.normpath(
        posixpath.join(directory, wanted)
    )


def hard_link(host, name, target, present, user, group):
    info = host.fact.file(name)
    if info is False:
        raise OperationError(f"{name} exists and is not a file")
    if not present:
        if info:
            yield f"rm -f {path_arg(name)}"
        return
    if not target:
        raise OperationError("a link needs a target")
    if info is None:
        yield f"ln {path_arg(target)} {path_arg(name)}"
    yield from attribute_commands(name, info, user, group, host=host)


@functools.lru_cache(maxsize=64)
def template_environment(search_path: tuple[str, ...]) -> jinja2.Environment:
    """One environment per search path, shared by every host: a template is compiled
    once (and again only when its file changes), then rendered for each host."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(search_path)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def local_tree(source: str) -> tuple[list[str], list[str]]:
    """Directories and files under `source`, relative to it, sorted."""
    directories, files_found = [], []
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames.sort()
        relative = os.path.relpath(dirpath, source)
        if relative != ".":
            directories.append(relative)
        for filename in sorted(filenames):
            files_found.append(os.path.normpath(os.path.join(relative, filename)))
    return directories, files_found
