"""files.file, files.directory and files.link: what is at a path, its owner and mode."""

from __future__ import annotations

from pyinfra.api import OperationError, operation
from pyinfra.api.diff import AttributeChange, note
from pyinfra.modules._files import (
    attribute_commands,
    hard_link,
    not_link,
    parse_mode,
    path_arg,
    same_link_target,
    touch_command,
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
