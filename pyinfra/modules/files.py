"""Files, directories, links, lines in files, uploads and templates.

Uploads land in a temporary file beside their target and are moved over it, so a
reader never sees half a file; an upload whose content is already there is skipped.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re

from pyinfra.api import OperationError, operation
from pyinfra.api.diff import AttributeChange, note
from pyinfra.api.templating import TemplateHost, template_line
from pyinfra.modules import unknown_operation
from pyinfra.modules._files import (
    attribute_commands,
    download_command,
    hard_link,
    local_path,
    local_tree,
    move_into_place,
    not_link,
    parse_mode,
    path_arg,
    same_link_target,
    sha1_of,
    temp_path,
    template_environment,
    touch_command,
    upload_commands,
)
from pyinfra.modules._lines import (
    append_line_on_host,
    edit_line,
    line_pattern,
    line_text,
    parse_line_flags,
    replace_commands,
)


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
        yield touch_command(name, new=info is None)
    yield from attribute_commands(name, info, user, group, mode, host=host)


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
        yield f"mkdir -p {path_arg(name)} && {not_link(name)}"
    yield from attribute_commands(name, info, user, group, mode, recursive=recursive, host=host)


@operation
def link(state, host, name, target=None, present=True, user=None, group=None, symbolic=True):
    """Ensure a link exists and points at a target, or is absent.

    + name: path of the link
    + target: what the link points to (required when present); a new symbolic link's
      target is written exactly as given, relative or absolute. An existing link whose
      target names the same path, once a relative target is read from the link's
      directory (``../init.d/nginx`` for ``/etc/init.d/nginx`` in ``/etc/rc2.d``), is
      left alone, as 0.1 did
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
        note(host, AttributeChange(name, "link target", None, str(target)))
        yield f"ln -s {path_arg(target)} {path_arg(name)}"
    elif not same_link_target(name, info["link_target"], str(target)):
        note(host, AttributeChange(name, "link target", info["link_target"], str(target)))
        # -n: replace a link to a directory instead of creating a link inside it.
        yield f"ln -sfn {path_arg(target)} {path_arg(name)}"
        info = None
    yield from attribute_commands(name, info, user, group, link=True, host=host)


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
def put(
    state,
    host,
    local_filename,
    remote_filename,
    user=None,
    group=None,
    mode=None,
    add_deploy_dir=True,
    create_remote_dir=True,
):
    """Upload a local file to the host, atomically; nothing when the content is the same.

    + local_filename: local path (relative paths are in the deploy directory), or a
      file-like object whose content is uploaded
    + remote_filename: path of the file on the host
    + user: user to own the file
    + group: group to own the file
    + mode: permissions as octal digits: 644, '644' or '0644'
    + add_deploy_dir: resolve a relative ``local_filename`` against the deploy directory
    + create_remote_dir: make the file's missing parent directories (as the operation's
      user; ``user``/``group``/``mode`` apply to the file only); False fails instead, as 0.1
    """
    mode = parse_mode(mode)
    if hasattr(local_filename, "read"):
        content = local_filename.read()
        src = content.encode() if isinstance(content, str) else content
        sha1 = hashlib.sha1(src).hexdigest()
    else:
        src = local_path(state, local_filename, add_deploy_dir)
        if not os.path.isfile(src):
            raise OperationError(f"local file not found: {src}")
        sha1 = sha1_of(src)
    yield from upload_commands(host, src, sha1, remote_filename, user, group, mode, create_remote_dir)


@operation
def template(
    state,
    host,
    template_filename,
    remote_filename,
    user=None,
    group=None,
    mode=None,
    create_remote_dir=True,
    **data,
):
    """Render a jinja2 template for this host and upload the result like files.put.

    + template_filename: local template (relative paths are in the deploy directory,
      conventionally ``templates/*.jn2``)
    + remote_filename: path of the file on the host
    + user: user to own the file
    + group: group to own the file
    + mode: permissions as octal digits: 644, '644' or '0644'
    + create_remote_dir: make the file's missing parent directories, as ``files.put``
    + data: further keyword arguments, available in the template by name

    The template also sees ``host``, ``inventory`` and ``data`` (the host's data). An
    undefined name is an error, not an empty string.
    """
    mode = parse_mode(mode)
    path = local_path(state, template_filename)
    if not os.path.isfile(path):
        raise OperationError(f"template not found: {path}")

    search_path = [os.path.dirname(os.path.abspath(path))]
    if state.deploy_dir:
        search_path.append(state.deploy_dir)
    import jinja2  # loaded on first use: a run starts connecting before that

    environment = template_environment(tuple(search_path))
    seen = TemplateHost(host)
    context = {"host": seen, "inventory": state.inventory, "data": seen.data, **data}
    try:
        compiled = environment.get_template(os.path.basename(path))
        text = compiled.render(context)
    except jinja2.TemplateSyntaxError as error:
        raise OperationError(f"template {path}, line {error.lineno}: {error.message}") from None
    except jinja2.TemplateError as error:
        line = template_line(error, compiled.filename)
        where = f"{path}, line {line}" if line else path
        raise OperationError(f"template {where}: {error}") from None
    content = text.encode()
    sha1 = hashlib.sha1(content).hexdigest()
    yield from upload_commands(host, content, sha1, remote_filename, user, group, mode, create_remote_dir)


@operation
def download(
    state, host, source_url, destination, user=None, group=None, mode=None, cache_time=None, force=False
):
    """Download a file from a URL to the host (with curl, or wget), atomically.

    + source_url: the URL to fetch, on the host
    + destination: path of the file on the host
    + user: user to own the file
    + group: group to own the file
    + mode: permissions as octal digits: 644, '644' or '0644'
    + cache_time: download again when the file is older than this many seconds
      (by the host's clock); without it an existing file is never fetched again
    + force: download every time, even when the file exists
    """
    mode = parse_mode(mode)
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", str(source_url)):
        raise OperationError(f"source_url must be a URL (like https://...), not {source_url!r}")
    if cache_time is not None and (isinstance(cache_time, bool) or not isinstance(cache_time, (int, float))):
        raise OperationError(f"cache_time must be a number of seconds, not {cache_time!r}")
    info = host.fact.file(destination)
    if info is False:
        raise OperationError(f"{destination} exists and is not a file")

    fetch = force or info is None
    if not fetch and cache_time:
        now = host.fact.date
        fetch = now is None or info["mtime"] < now.timestamp() - cache_time

    if not fetch:
        yield from attribute_commands(destination, info, user, group, mode, host=host)
        return
    temp = temp_path(destination)
    yield download_command(source_url, temp)
    yield from move_into_place(temp, destination, info, user, group, mode, host=host)


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


@operation
def sync(state, host, source, destination, user=None, group=None, mode=None, delete=False):
    """Make a remote directory hold the files of a local directory (uploading changed
    files only).

    + source: local directory (relative paths are in the deploy directory)
    + destination: remote directory, created when missing
    + user: user to own the directories and files
    + group: group to own the directories and files
    + mode: permissions of the files as octal digits (directories keep theirs)
    + delete: remove remote files, links and directories the source does not have
    """
    mode = parse_mode(mode)
    local = local_path(state, source)
    if not os.path.isdir(local):
        raise OperationError(f"local directory not found: {local}")
    destination = posixpath.normpath(str(destination))
    directories, files_found = local_tree(local)

    yield from directory.operation_function(state, host, destination, user=user, group=group)
    for relative in directories:
        remote = posixpath.join(destination, *relative.split(os.sep))
        yield from directory.operation_function(state, host, remote, user=user, group=group)
    wanted_files = set()
    for relative in files_found:
        remote = posixpath.join(destination, *relative.split(os.sep))
        wanted_files.add(remote)
        path = os.path.join(local, relative)
        yield from upload_commands(host, path, sha1_of(path), remote, user, group, mode)

    if not delete:
        return
    wanted_directories = {posixpath.join(destination, *d.split(os.sep)) for d in directories}
    removed = []
    for remote in sorted(host.fact.find_directories(destination) or []):
        remote = posixpath.normpath(remote)
        if remote == destination or remote in wanted_directories:
            continue
        if any(remote.startswith(parent + "/") for parent in removed):
            continue
        removed.append(remote)
        yield f"rm -rf {path_arg(remote)}"
    extra = set(host.fact.find_files(destination) or []) | set(host.fact.find_links(destination) or [])
    for remote in sorted(posixpath.normpath(path) for path in extra):
        if remote in wanted_files or any(remote.startswith(parent + "/") for parent in removed):
            continue
        yield f"rm -f {path_arg(remote)}"


__getattr__ = unknown_operation(__name__)
