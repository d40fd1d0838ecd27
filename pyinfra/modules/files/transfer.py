"""files.download and files.sync: a file fetched from a URL by the host, a local
directory mirrored onto it."""

from __future__ import annotations

import os
import posixpath
import re

from pyinfra.api import OperationError, operation
from pyinfra.modules._files import (
    attribute_commands,
    download_command,
    local_path,
    local_tree,
    move_into_place,
    parse_mode,
    path_arg,
    sha1_of,
    temp_path,
    upload_commands,
)
from pyinfra.modules.files.paths import directory


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
