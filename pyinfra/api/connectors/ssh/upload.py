"""Which uploads travel inside the open shell, and how.

A small upload (bytes, or a file up to SHELL_UPLOAD_MAX) is written into the shell's stdin as base64 in a
here-document, in the same round trip as the commands beside it; a larger one, or any
once a host turns out to have no `base64`, is streamed over an exec channel of its own
(exec.py).
"""

from __future__ import annotations

import base64
import os
import uuid

from pyinfra.api.command import write_file_command

SHELL_UPLOAD_MAX = 256 * 1024

# The exit status of a shell upload whose host has no base64 (command not found).
NO_BASE64 = 127


def shell_upload_step(src: str | bytes, dest: str) -> tuple[str, str, None] | None:
    """(script, label, timeout) writing `src` (bytes, or a local path) to a new file
    `dest` from within the shell; None for a file larger than SHELL_UPLOAD_MAX (or
    unreadable here: the streamed upload then says why)."""
    content = src if isinstance(src, bytes) else read_small(src, SHELL_UPLOAD_MAX)
    if content is None:
        return None
    delimiter = f"PYINFRA_EOF_{uuid.uuid4().hex}"
    encoded = base64.encodebytes(content).decode()
    script = write_file_command(dest, f"base64 -d <<'{delimiter}'")
    return f"{script}\n{encoded}{delimiter}", f"upload to {dest}", None


def read_small(path: str, limit: int) -> bytes | None:
    """The file's bytes when it is at most `limit` long, else None."""
    try:
        if os.path.getsize(path) > limit:
            return None
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None
