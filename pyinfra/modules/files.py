"""Files, directories, links, lines in files, uploads and templates.

Uploads land in a temporary file beside their target and are moved over it, so a
reader never sees half a file; an upload whose content is already there is skipped.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re

import jinja2

from pyinfra.api import FileUploadCommand, OperationError, operation, quote

# ---------------------------------------------------------------------------------------
# Helpers shared by the operations here and in other modules (server.user)
# ---------------------------------------------------------------------------------------


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
):
    """chown / chgrp / chmod `path` where `info` (the file fact; None: a new file)
    differs from what is asked. `mode` is already parsed."""
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


def upload_commands(host, src: str | bytes, sha1: str, remote: str, user=None, group=None, mode=None):
    """Put `src` (local path or bytes, whose SHA1 is `sha1`) at `remote` atomically,
    skipping the upload when the remote content is already the same."""
    remote_sha1 = host.fact.sha1_file(remote)
    if remote_sha1 == sha1:
        if user or group or mode:
            info = host.fact.file(remote)
            if info:
                yield from attribute_commands(remote, info, user, group, mode)
        return

    exists = remote_sha1 is not None
    if not exists:
        info = host.fact.file(remote)
        if info is False:
            raise OperationError(f"{remote} exists and is not a file")
        exists = info is not None

    directory, base = posixpath.split(remote)
    temp = posixpath.join(directory, f".{base}.pyinfra-{sha1[:12]}")
    yield FileUploadCommand(src, temp)
    # The move replaces the file: keep the owner and mode it had unless told otherwise.
    # Only root may give a file away, so keeping the owner is best effort.
    if exists and not (user and group):
        yield f"chown --reference={path_arg(remote)} {path_arg(temp)} 2>/dev/null || true"
    if exists and not mode:
        yield f"chmod --reference={path_arg(remote)} {path_arg(temp)}"
    yield from attribute_commands(temp, None, user, group, mode)
    yield f"mv -f {path_arg(temp)} {path_arg(remote)}"


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

    if not present:
        if matches:
            yield rewrite_lines_command(name, matches, None)
        return

    if replace is None:
        if not matches:
            yield append_line_command(name, text)
        return

    if matches:
        stale = [line for line in matches if line != replace]
        if stale:
            yield rewrite_lines_command(name, stale, replace)
        return
    # Nothing to replace: add the replacement line, unless it is there already.
    if not host.fact.find_in_file(name, f"^{escape_bre(replace)}$"):
        yield append_line_command(name, replace)


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


# ---------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------


@operation
def file(state, host, name, present=True, user=None, group=None, mode=None, touch=False, permissions=None):
    """Ensure a file exists (created empty if missing) or is absent, with an owner and mode.

    + name: path of the remote file
    + present: whether the file should exist
    + user: user to own the file
    + group: group to own the file
    + mode: permissions as octal digits: 644, '644' or '0644'
    + touch: update the file's modification time even when it exists
    + permissions: another name for ``mode`` (the 0.1 guide writes ``permissions='644'``)
    """
    if permissions is not None:
        if mode is not None and parse_mode(mode) != parse_mode(permissions):
            raise OperationError("mode and permissions are the same argument: give one")
        mode = permissions
    mode = parse_mode(mode)
    info = host.fact.file(name)
    if info is False:
        raise OperationError(f"{name} exists and is not a file")

    if not present:
        if info:
            yield f"rm -f {path_arg(name)}"
        return

    if info is None or touch:
        yield f"touch {path_arg(name)}"
    yield from attribute_commands(name, info, user, group, mode)


@operation
def directory(state, host, name, present=True, user=None, group=None, mode=None, recursive=False):
    """Ensure a directory exists (with its parents) or is absent, with an owner and mode.

    + name: path of the remote directory
    + present: whether the directory should exist; absent removes it and its content
    + user: user to own the directory
    + group: group to own the directory
    + mode: permissions as octal digits: 755, '755' or '0755'
    + recursive: apply user, group and mode to everything inside too
    """
    mode = parse_mode(mode)
    info = host.fact.directory(name)
    if info is False:
        raise OperationError(f"{name} exists and is not a directory")

    if not present:
        if info:
            yield f"rm -rf {path_arg(name)}"
        return

    if info is None:
        yield f"mkdir -p {path_arg(name)}"
    yield from attribute_commands(name, info, user, group, mode, recursive=recursive)


@operation
def link(state, host, name, target=None, present=True, user=None, group=None, symbolic=True):
    """Ensure a link exists and points at a target, or is absent.

    + name: path of the link
    + target: what the link points to (required when present); a symbolic link's
      target is kept exactly as given, relative or absolute
    + present: whether the link should exist
    + user: user to own the link
    + group: group to own the link
    + symbolic: a symbolic link (default) or, when False, a hard link
    """
    if not symbolic:
        yield from hard_link(host, name, target, present, user, group)
        return

    info = host.fact.link(name)
    if info is False:
        raise OperationError(f"{name} exists and is not a symbolic link")

    if not present:
        if info:
            yield f"rm -f {path_arg(name)}"
        return

    if not target:
        raise OperationError("a link needs a target")
    if info is None:
        yield f"ln -s {path_arg(target)} {path_arg(name)}"
    elif info["link_target"] != target:
        # -n: replace a link to a directory instead of creating a link inside it.
        yield f"ln -sfn {path_arg(target)} {path_arg(name)}"
        info = None
    yield from attribute_commands(name, info, user, group, link=True)


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
    yield from attribute_commands(name, info, user, group)


@operation
def line(state, host, name, line, present=True, replace=None, flags=None):
    """Ensure a line is in a file, is not, or is replaced by another.

    + name: path of the remote file (created when a line is added to a missing file)
    + line: basic regular expression (grep's) matching the line; unless anchored with
      ``^`` / ``$`` it matches anywhere in a line. When missing, it is appended as is.
    + present: whether a matching line should be in the file; False removes every match
    + replace: text that replaces every matching line (whole line, taken literally);
      appended when nothing matches and it is not in the file yet
    + flags: sed-style flags: 'i' matches ignoring case ('g' is accepted, lines are
      always replaced whole)
    """
    ignore_case = parse_line_flags(flags)
    pattern = line
    if not pattern.startswith("^"):
        pattern = f"^.*{pattern}"
    if not pattern.endswith("$"):
        pattern = f"{pattern}.*$"
    yield from edit_line(host, name, pattern, line, present, replace, ignore_case)


@operation
def put(state, host, local_filename, remote_filename, user=None, group=None, mode=None, add_deploy_dir=True):
    """Upload a local file to the host, atomically; nothing when the content is the same.

    + local_filename: local path (relative paths are in the deploy directory), or a
      file-like object whose content is uploaded
    + remote_filename: path of the file on the host
    + user: user to own the file
    + group: group to own the file
    + mode: permissions as octal digits: 644, '644' or '0644'
    + add_deploy_dir: resolve a relative ``local_filename`` against the deploy directory
    """
    mode = parse_mode(mode)
    if hasattr(local_filename, "read"):
        content = local_filename.read()
        src = content.encode() if isinstance(content, str) else content
        sha1 = hashlib.sha1(src).hexdigest()
    else:
        src = str(local_filename)
        if add_deploy_dir and state.deploy_dir and not os.path.isabs(src):
            src = os.path.join(state.deploy_dir, src)
        if not os.path.isfile(src):
            raise OperationError(f"local file not found: {src}")
        sha1 = sha1_of(src)
    yield from upload_commands(host, src, sha1, remote_filename, user, group, mode)


@operation
def template(state, host, template_filename, remote_filename, user=None, group=None, mode=None, **data):
    """Render a jinja2 template for this host and upload the result like files.put.

    + template_filename: local template (relative paths are in the deploy directory,
      conventionally ``templates/*.jn2``)
    + remote_filename: path of the file on the host
    + user: user to own the file
    + group: group to own the file
    + mode: permissions as octal digits: 644, '644' or '0644'
    + data: further keyword arguments, available in the template by name

    The template also sees ``host``, ``inventory`` and ``data`` (the host's data). An
    undefined name is an error, not an empty string.
    """
    mode = parse_mode(mode)
    path = str(template_filename)
    if state.deploy_dir and not os.path.isabs(path):
        path = os.path.join(state.deploy_dir, path)
    if not os.path.isfile(path):
        raise OperationError(f"template not found: {path}")

    search_path = [os.path.dirname(os.path.abspath(path))]
    if state.deploy_dir:
        search_path.append(state.deploy_dir)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search_path),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    context = {"host": host, "inventory": state.inventory, "data": host.data, **data}
    try:
        text = environment.get_template(os.path.basename(path)).render(context)
    except jinja2.TemplateSyntaxError as error:
        raise OperationError(f"template {path}, line {error.lineno}: {error.message}") from None
    except jinja2.TemplateError as error:
        raise OperationError(f"template {path}: {error}") from None
    content = text.encode()
    yield from upload_commands(
        host, content, hashlib.sha1(content).hexdigest(), remote_filename, user, group, mode
    )
