"""Facts about files, directories and links on the remote host.

The stat-based facts read `%f` (the raw mode in hex) rather than `%F` (the type as
words) because the words are translated under a non-C locale.
"""

from __future__ import annotations

import stat

from pyinfra.api import FactBase, quote
from pyinfra.api.diff import MAX_DIFF_BYTES
from pyinfra.api.facts import ABSENT

# Raw mode (hex), size, mtime, owner name, group name: one line, locale-independent.
STAT_FORMAT = "%f %s %Y %U %G"


def stat_command(name: str) -> str:
    return f"stat -c {quote(STAT_FORMAT)} -- {quote(name)}"


def if_exists(name: str, command: str, otherwise: str = f"echo {ABSENT}") -> str:
    """Shell code: `command` when `name` exists (a dangling link too), `otherwise` when
    it positively does not.

    `test -e` is also false behind a directory the login may not search, so a missing
    path only counts as absent when its nearest existing ancestor can be searched (or
    is not a directory at all); behind one that cannot, `stat` runs anyway and fails
    with the host's own words ("Permission denied")."""
    path = quote(name)
    return (
        f"if [ -e {path} ] || [ -L {path} ]; then {command}; else d={path};"
        # Up a level with the shell's own expansion (no process per level).
        " while case $d in */*) d=${d%/*}; d=${d:-/} ;; *) d=. ;; esac;"
        ' ! [ -e "$d" ] && [ "$d" != . ] && [ "$d" != / ]; do :; done;'
        f' if [ -d "$d" ] && ! [ -x "$d" ]; then stat -- {path} >/dev/null; else {otherwise}; fi; fi'
    )


def parse_stat(line: str) -> tuple[int, dict]:
    """(file type bits, {user, group, mode, size, mtime}) from one STAT_FORMAT line."""
    raw_mode, size, mtime, user, group = line.split(" ", 4)
    raw = int(raw_mode, 16)
    info = {
        "user": user,
        "group": group,
        # 0644 is shown as the int 644, the way people write modes.
        "mode": int(format(stat.S_IMODE(raw), "o")),
        "size": int(size),
        "mtime": int(mtime),
    }
    return stat.S_IFMT(raw), info


class File(FactBase):
    """A regular file: `{user, group, mode, size, mtime}` (mode as written, 644; mtime in
    epoch seconds). None when absent, False when the path is something else (a
    directory, a symbolic link, ...)."""

    def command(self, name):
        return if_exists(name, stat_command(name))

    def process(self, output):
        kind, info = parse_stat(output[0])
        return info if kind == stat.S_IFREG else False


class Directory(FactBase):
    """A directory: `{user, group, mode, size, mtime}`. None when absent, False when the
    path is something else."""

    def command(self, name):
        return if_exists(name, stat_command(name))

    def process(self, output):
        kind, info = parse_stat(output[0])
        return info if kind == stat.S_IFDIR else False


class Link(FactBase):
    """A symbolic link: `{user, group, mode, size, mtime, link_target}` (the target as
    stored in the link, not resolved). None when absent, False when the path is
    something else."""

    def command(self, name):
        path = quote(name)
        return if_exists(name, f"{stat_command(name)} && if [ -L {path} ]; then readlink -- {path}; fi")

    def process(self, output):
        kind, info = parse_stat(output[0])
        if kind != stat.S_IFLNK:
            return False
        # A target may itself contain newlines.
        info["link_target"] = "\n".join(output[1:])
        return info


class Sha1File(FactBase):
    """The SHA1 (hex) of a file's content, None when it is absent or not a regular
    file."""

    # Uploads compare the content, then the owner and mode: one round trip for both.
    prefetch = ("file",)

    def command(self, name):
        # Reading stdin keeps the file name out of the output, whatever it contains.
        path = quote(name)
        return if_exists(name, f"if [ -f {path} ]; then sha1sum < {path}; else echo {ABSENT}; fi")

    def process(self, output):
        digest = output[0].split()[0]
        if len(digest) != 40:
            raise ValueError(f"not a SHA1: {digest!r}")
        return digest


class FindInFile(FactBase):
    """Lines of a file matching a basic regular expression (grep's): a list, [] when none
    match, None when the file is absent (or not a regular file). `ignore_case` makes the
    match case-insensitive."""

    def command(self, name, pattern, ignore_case=False):
        path = quote(name)
        flags = "-i " if ignore_case else ""
        # grep exits 1 when nothing matches: that is an empty list, not a failure.
        grep = f"grep {flags}-e {quote(pattern)} -- {path} || [ $? -eq 1 ]"
        return if_exists(name, f"if [ -f {path} ]; then {grep}; else echo {ABSENT}; fi")

    def process(self, output):
        return list(output)


def find_command(name: str, kind: str) -> str:
    # The starting point is printed too (as given) for directories; a missing path is
    # the fact's default, an empty list; one find cannot read fails.
    name = str(name)
    start = f"./{name}" if name.startswith("-") else name
    return if_exists(name, f"find {quote(start)} -type {kind}")


class FindFiles(FactBase):
    """Paths of the regular files anywhere under a directory: a list, [] when the
    directory is absent or empty."""

    default = list

    def command(self, name):
        return find_command(name, "f")

    def process(self, output):
        return [line for line in output if line]


class FindLinks(FactBase):
    """Paths of the symbolic links anywhere under a directory: a list, [] when the
    directory is absent or has none."""

    default = list

    def command(self, name):
        return find_command(name, "l")

    def process(self, output):
        return [line for line in output if line]


class FindDirectories(FactBase):
    """Paths of the directories under a directory, the directory itself included: a
    list, [] when it is absent."""

    default = list

    def command(self, name):
        return find_command(name, "d")

    def process(self, output):
        return [line for line in output if line]


class FileContents(FactBase):
    """The content of a regular file: `{size, sha1, content}`. `content` is text (a
    byte that is not UTF-8 as a surrogate escape: `content.encode('utf-8',
    'surrogateescape')` is the file's bytes), None when the file is larger than 256
    KiB. With `sed_expression`, what that sed expression would make of the content
    (the file is left as it is). None when the file is absent (or not a regular
    file). `--diff` reads it."""

    def command(self, name, sed_expression=None):
        path = quote(name)
        if sed_expression is None:
            return if_exists(name, f"if [ -f {path} ]; then {describe_file(path)}; else echo {ABSENT}; fi")
        # sed's output goes to a file of its own, so a failing sed is an error, not
        # an empty content.
        sed = f"sed -e {quote(sed_expression)} < {path}"
        preview = (
            f"__pyinfra_t=$(mktemp) && {{ {sed} > {TEMP} && {describe_file(TEMP)};"
            f" __pyinfra_r=$?; rm -f {TEMP}; [ $__pyinfra_r -eq 0 ]; }}"
        )
        return if_exists(name, f"if [ -f {path} ]; then {preview}; else echo {ABSENT}; fi")

    def process(self, output):
        size = int(output[0].strip())
        sha1 = output[1].split()[0]
        if len(sha1) != 40:
            raise ValueError(f"not a SHA1: {sha1!r}")
        content = None
        if len(output) > 2 and output[2] == "content":
            # od's hex digits, whitespace between them ignored.
            raw = bytes.fromhex("".join(output[3:]))
            if len(raw) != size:
                raise ValueError(f"read {len(raw)} bytes of {size}")
            content = raw.decode("utf-8", "surrogateescape")
        return {"size": size, "sha1": sha1, "content": content}


TEMP = '"$__pyinfra_t"'


def describe_file(path: str) -> str:
    """Shell code printing a file's size, its SHA1, and, when it is not larger than
    MAX_DIFF_BYTES, its bytes as hex (od is POSIX, in busybox too; the hex survives
    any byte the file holds)."""
    return (
        f"__pyinfra_s=$(wc -c < {path}) && echo $__pyinfra_s && sha1sum < {path}"
        f" && if [ $__pyinfra_s -le {MAX_DIFF_BYTES} ]; then echo content && od -An -v -tx1 < {path}; fi"
    )


# The lines of every block: "begin", "=" + each line, "end"; "unterminated" when a
# begin marker has no end marker after it. Markers are compared whole and as strings
# (awk would compare "1" and "1.0" as numbers).
BLOCK_FACT_AWK = (
    'BEGIN { b = ENVIRON["PYINFRA_BEGIN"] ""; e = ENVIRON["PYINFRA_END"] "" }'
    ' { line = $0 "" }'
    ' !open && line == b { open = 1; print "begin"; next }'
    ' open && line == e { open = 0; print "end"; next }'
    ' open { print "=" line }'
    ' END { if (open) print "unterminated" }'
)


class FileBlock(FactBase):
    """The marked blocks of a file (files.block): each block is the list of lines
    between a line reading `begin` and the next line reading `end` (both compared
    whole), in file order; [] when the file has none, None when it is absent (or not
    a regular file). A `begin` line with no `end` line after it is an error."""

    subject = "path"

    def command(self, name, begin, end):
        path = quote(name)
        awk = f"PYINFRA_BEGIN={quote(begin)} PYINFRA_END={quote(end)} LC_ALL=C awk {quote(BLOCK_FACT_AWK)}"
        return if_exists(name, f"if [ -f {path} ]; then {awk} < {path}; else echo {ABSENT}; fi")

    def process(self, output):
        blocks = []
        for line in output:
            if line == "begin":
                blocks.append([])
            elif line.startswith("=") and blocks:
                blocks[-1].append(line[1:])
            elif line == "unterminated":
                raise ValueError("a begin marker has no end marker after it")
            elif line != "end":
                raise ValueError(f"unexpected line {line!r}")
        return blocks
