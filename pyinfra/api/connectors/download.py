"""Getting a file from the host (files.get) through shell commands, which every
connector runs: read in pieces as hex, checked against the size and SHA1 the host read
first, written to a new local file beside the destination and moved over it."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile

from pyinfra.api.command import LOGIN, RunAs, quote
from pyinfra.api.connectors.base import CommandResult

# Read in pieces this large: their hex (od: three characters a byte) stays well within
# what a command's output keeps (MAX_KEPT_CHARS). dd reads them by blocks of GET_BLOCK.
GET_CHUNK = 1024 * 1024
GET_BLOCK = 64 * 1024


class ShellDownload:
    """Connector.get_file by shell commands (run_shell_command, as the operation's
    user: sudo reads a file the login may not)."""

    def get_file(self, src: str, dest: str, run_as: RunAs = LOGIN) -> CommandResult:
        label = f"download {src} -> {dest}"
        path = quote(src)
        quiet, self.quiet = self.quiet, True  # the output is the file, not for the screen
        try:
            head = self.run_shell_command(
                f"if [ -f {path} ]; then wc -c < {path} && sha1sum < {path};"
                f" else echo {quote(src + ': no such regular file')} >&2; false; fi",
                run_as,
            )
            if not head.ok:
                head.command = label
                return head
            try:
                size, sha1 = int(head.stdout[0].strip()), head.stdout[1].split()[0]
            except (IndexError, ValueError):
                why = f"download failed: unexpected output {head.stdout[:2]!r}"
                return CommandResult(label, 1, [], [why])
            content = bytearray()
            for start in range(0, size, GET_CHUNK):
                blocks = f"bs={GET_BLOCK} skip={start // GET_BLOCK} count={GET_CHUNK // GET_BLOCK}"
                piece = self.run_shell_command(f"dd if={path} {blocks} 2>/dev/null | od -An -v -tx1", run_as)
                if not piece.ok:
                    piece.command = label
                    return piece
                try:
                    content += bytes.fromhex("".join(piece.stdout))
                except ValueError:
                    break  # not od's output: the checks below fail it
        finally:
            self.quiet = quiet
        if len(content) != size or hashlib.sha1(content).hexdigest() != sha1:
            return CommandResult(label, 1, [], [f"download failed: {src} changed while it was read"])
        return write_local_file(label, dest, bytes(content))


def write_local_file(label: str, dest: str, content: bytes) -> CommandResult:
    """Make the local file `dest` hold `content`: written to a new file beside it, then
    moved over it (a reader never sees half a file; a link at `dest` is replaced, not
    written through). It keeps the mode `dest` had; a new file gets the umask's."""
    directory = os.path.dirname(os.path.abspath(dest))
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.pyinfra-", dir=directory)
    except OSError as error:
        return CommandResult(label, 1, [], [f"download failed: {directory}: {error.strerror}"])
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        if os.path.isfile(dest) and not os.path.islink(dest):
            mode = os.stat(dest).st_mode & 0o7777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(temp, mode)
        os.replace(temp, dest)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        return CommandResult(label, 1, [], [f"download failed: {dest}: {error.strerror}"])
    return CommandResult(label, 0)
