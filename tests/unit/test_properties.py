"""Property tests: arbitrary file names, contents and lines round-trip exactly through
files.file, files.put, files.line and files.directory on the test host over SSH, and
nothing in them is ever executed.

The test host is this machine (127.0.0.2 through the private sshd, as root), so every
result is checked with plain Python on the local filesystem. Names and lines mix
random text (any character but "/" and NUL: newlines, quotes, `$`, backticks,
non-ASCII, control characters) with fragments that would create a canary file if a
shell ever ran them; after every example no canary may exist anywhere a stray command
could have written it.
"""

import itertools
import os
import secrets

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from support import REPO

from pyinfra.api import Config, Inventory, State
from pyinfra.api.build import build
from pyinfra.api.run import connect_all, disconnect_all, run_operations
from pyinfra.modules import files

NAME_MAX = 255

CANARY = f"pyinfra-canary-{secrets.token_hex(6)}"

# What an injected command would look like in each quoting context a tool could get
# wrong: plain, single quotes, double quotes, a new line, a pipe, a redirection.
INJECTIONS = [
    f"$(touch {CANARY})",
    f"`touch {CANARY}`",
    f"';touch {CANARY};'",
    f'";touch {CANARY};"',
    f"\\';touch {CANARY};#",
    f"\ntouch {CANARY}\n",
    f"&& touch {CANARY}",
    f"|touch {CANARY}",
    f";touch {CANARY}",
    f">{CANARY}",
    f"$(>{CANARY})",
    "$HOME",
    "${IFS}",
    "$((6*7))",
    "$'\\x41'",
    "%s%n",
    "*",
    "~",
    "-rf",
    " -- ",
    "\x1b[31m",
]
SPECIAL = " '\"$`\\\n\t\r;|&<>(){}[]*?~!#%^-=+,.:@\u00e9\u65e5\u672c\U0001f642\u00a0\u202e\u0301"

DATABASE = DirectoryBasedExampleDatabase(
    os.path.join(REPO, ".pytest_cache", "hypothesis")
)
PROPERTY = settings(
    max_examples=50,
    deadline=None,
    database=DATABASE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# -- strategies -------------------------------------------------------------------------


def fit(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8, never inside a character."""
    return text.encode()[:limit].decode("utf-8", "ignore")


def rendered_verbatim(text: str) -> bool:
    # String arguments holding jinja2 markup are templates, rendered for each host
    # (documented): such text is not a literal name.
    return "{{" not in text and "{%" not in text


def mixed_text(forbidden: str, injections: list[str]) -> st.SearchStrategy[str]:
    chars = st.one_of(
        st.characters(blacklist_categories=("Cs",), blacklist_characters=forbidden),
        st.sampled_from([c for c in SPECIAL if c not in forbidden]),
    )
    piece = st.one_of(st.text(chars, min_size=1, max_size=8), st.sampled_from(injections))
    return st.lists(piece, min_size=1, max_size=5).map("".join)


def file_names(limit: int = NAME_MAX) -> st.SearchStrategy[str]:
    """One path component: no "/" or NUL, not "." or "..", at most `limit` bytes; now
    and then exactly as long as allowed."""
    short = mixed_text("/\x00", INJECTIONS)
    longest = short.map(lambda text: text * limit)
    return (
        st.one_of(short, short, longest)
        .map(lambda text: fit(text, limit))
        .filter(lambda name: name not in ("", ".", "..") and rendered_verbatim(name))
    )


def line_texts(forbidden: str = "") -> st.SearchStrategy[str]:
    """One line of a text file: no newline (or NUL), anything else."""
    injections = [i for i in INJECTIONS if "\n" not in i and not set(i) & set(forbidden)]
    return mixed_text("\n\x00" + forbidden, injections).filter(rendered_verbatim)


def contents() -> st.SearchStrategy[bytes]:
    """Any bytes; sometimes empty, sometimes large enough to travel by SFTP."""
    large = st.tuples(st.binary(min_size=1, max_size=64), st.integers(256 * 1024 + 1, 300 * 1024))
    return st.one_of(
        st.binary(max_size=4096),
        st.just(b""),
        large.map(lambda seed_size: (seed_size[0] * seed_size[1])[: seed_size[1]]),
    )


# -- the test host ----------------------------------------------------------------------


class Remote:
    """127.0.0.2 over SSH, connected once for the module; each deploy gets a new State."""

    def __init__(self, sshd, base, known_hosts):
        data = {"ssh_port": sshd.port, "ssh_key": sshd.client_key, "ssh_known_hosts_file": known_hosts}
        self.inventory = Inventory.from_layers({"127.0.0.2": data}, {"all": ["127.0.0.2"]})
        self.host = self.inventory.get_host("127.0.0.2")
        self.base = base
        self.counter = itertools.count()
        self.connect()
        result = self.host.connector.run_shell_command("pwd")
        assert result.ok, result.describe()
        # Where a stray command would create the canary: the remote shell's directory,
        # the test process's own, and the shared temporary directory.
        self.canary_dirs = {result.stdout[0], os.getcwd(), "/tmp", base}

    def connect(self) -> None:
        state = State(self.inventory, Config())
        connect_all(state)
        assert self.host.connected, state.results[self.host].error

    def new_dir(self) -> str:
        """A fresh, empty directory for one example."""
        path = os.path.join(self.base, f"example-{next(self.counter)}")
        os.mkdir(path)
        self.canary_dirs.add(path)
        return path

    def deploy(self, operations) -> list:
        """Build `operations()` for the host, run it, require success; the commands run."""
        if not self.host.connected:
            self.connect()
        state = State(self.inventory, Config())
        build(state, lambda host: operations())
        ok = run_operations(state)
        result = state.results[self.host]
        assert ok and not result.failed, result.error
        return [command for _, op in state.ops_for_host(self.host) for command in op.commands]

    def assert_nothing_executed(self) -> None:
        found = [d for d in self.canary_dirs if os.path.lexists(os.path.join(d, CANARY))]
        for directory in found:  # so that hypothesis can shrink to the guilty example
            os.remove(os.path.join(directory, CANARY))
        assert not found, f"a name or line was executed: {CANARY} created in {found}"

    def close(self) -> None:
        disconnect_all(State(self.inventory, Config()))


@pytest.fixture(scope="module")
def remote(sshd, tmp_path_factory):
    base = tmp_path_factory.mktemp("properties")
    server = Remote(sshd, str(base), str(base / "known_hosts"))
    try:
        yield server
    finally:
        server.close()
        server.assert_nothing_executed()


def file_lines(content: bytes) -> list[str]:
    """The lines of a text file, the way grep and awk see them."""
    if not content:
        return []
    lines = content.decode().split("\n")
    return lines[:-1] if content.endswith(b"\n") else lines


def text_file(lines: list[str], final_newline: bool) -> bytes:
    text = "\n".join(lines)
    return (text + "\n" if lines and final_newline else text).encode()


def written(lines: list[str]) -> bytes:
    """A file as files.line writes it back after removing or replacing lines."""
    return "".join(line + "\n" for line in lines).encode()


def appended(content: bytes, line: str) -> bytes:
    """`content` with `line` added as its own line."""
    if content and not content.endswith(b"\n"):
        content += b"\n"
    return content + line.encode() + b"\n"


def exact_pattern(text: str) -> str:
    """A basic regular expression (grep's) matching a line that is exactly `text`."""
    escaped = "".join("\\" + c if c in "\\.*[]^$" else c for c in text)
    return f"^{escaped}$"


# -- properties -------------------------------------------------------------------------


@PROPERTY
@given(names=st.lists(file_names(), min_size=1, max_size=4, unique=True))
def test_files_file_creates_exactly_the_names_given(remote, names):
    where = remote.new_dir()
    paths = [os.path.join(where, name) for name in names]

    remote.deploy(lambda: [files.file(path, user="root", group="root", mode=640) for path in paths])
    assert sorted(os.listdir(where)) == sorted(names)
    for path in paths:
        info = os.lstat(path)
        assert (info.st_size, oct(info.st_mode & 0o7777)) == (0, "0o640"), path

    # The file facts read every name back: a second run has nothing to do.
    assert remote.deploy(lambda: [files.file(path, mode=640) for path in paths]) == []

    remote.deploy(lambda: [files.file(path, present=False) for path in paths])
    assert os.listdir(where) == []
    remote.assert_nothing_executed()


@PROPERTY
@given(parts=st.lists(file_names(), min_size=1, max_size=3), sibling=file_names())
def test_files_directory_creates_exactly_the_path_given(remote, parts, sibling):
    where = remote.new_dir()
    path = os.path.join(where, *parts)
    top = os.path.join(where, parts[0])

    remote.deploy(lambda: files.directory(path, mode=750))
    parent = where
    for part in parts:
        assert os.listdir(parent) == [part]
        parent = os.path.join(parent, part)
    assert os.listdir(path) == []
    assert oct(os.stat(path).st_mode & 0o7777) == "0o750"
    assert remote.deploy(lambda: files.directory(path, mode=750)) == []

    # Removing one directory leaves a sibling whose name may share its prefix alone.
    if sibling != parts[0]:
        os.mkdir(os.path.join(where, sibling))
    remote.deploy(lambda: files.directory(top, present=False))
    assert os.listdir(where) == ([sibling] if sibling != parts[0] else [])
    remote.assert_nothing_executed()


@PROPERTY
@given(name=file_names(NAME_MAX), content=contents(), new_content=contents())
def test_files_put_uploads_exact_bytes_under_the_exact_name(remote, name, content, new_content):
    where = remote.new_dir()
    local_dir = remote.new_dir()
    source = os.path.join(local_dir, name)
    target = os.path.join(where, name)
    with open(source, "wb") as handle:
        handle.write(content)

    remote.deploy(lambda: files.put(source, target))
    assert os.listdir(where) == [name]
    with open(target, "rb") as handle:
        assert handle.read() == content

    # The same content again: the remote checksum matches, nothing is uploaded.
    assert remote.deploy(lambda: files.put(source, target)) == []

    with open(source, "wb") as handle:
        handle.write(new_content)
    commands = remote.deploy(lambda: files.put(source, target))
    assert (commands == []) == (new_content == content)
    # Replaced in place: no temporary file is left beside it.
    assert os.listdir(where) == [name]
    with open(target, "rb") as handle:
        assert handle.read() == new_content
    remote.assert_nothing_executed()


@PROPERTY
@given(
    name=file_names(),
    existing=st.none() | st.lists(line_texts(), max_size=5),
    final_newline=st.booleans(),
    text=line_texts(),
    pick_existing=st.booleans(),
)
# Found by this test: output lines lost a trailing carriage return, so a CRLF line
# could be neither found nor removed.
@example(name="crlf", existing=["a\r", "b\r"], final_newline=True, text="a\r", pick_existing=False)
@example(name="cr", existing=None, final_newline=False, text="\r", pick_existing=False)
def test_files_line_adds_and_removes_a_literal_line_exactly(
    remote, name, existing, final_newline, text, pick_existing
):
    where = remote.new_dir()
    path = os.path.join(where, name)
    if existing and pick_existing:
        text = existing[len(text) % len(existing)]  # a line already there, sometimes twice
    if existing is not None:
        with open(path, "wb") as handle:
            handle.write(text_file(existing, final_newline))
    before = open(path, "rb").read() if existing is not None else b""
    lines = file_lines(before)

    # `line` is a regular expression; `replace` is the literal line wanted.
    remote.deploy(lambda: files.line(path, exact_pattern(text), replace=text))
    after = open(path, "rb").read()
    assert after == (before if text in lines else appended(before, text))
    assert remote.deploy(lambda: files.line(path, exact_pattern(text), replace=text)) == []

    remote.deploy(lambda: files.line(path, exact_pattern(text), present=False))
    removed = open(path, "rb").read()
    assert removed == written([line for line in file_lines(after) if line != text])
    assert remote.deploy(lambda: files.line(path, exact_pattern(text), present=False)) == []
    remote.assert_nothing_executed()


def test_files_put_target_names_up_to_name_max(remote):
    where = remote.new_dir()
    local_dir = remote.new_dir()
    source = os.path.join(local_dir, "source")
    with open(source, "wb") as handle:
        handle.write(b"content\n")
    names = ["a" * NAME_MAX, "\u00e9" * (NAME_MAX // 2), "$" * (NAME_MAX - 10)]
    remote.deploy(lambda: [files.put(source, os.path.join(where, name)) for name in names])
    assert sorted(os.listdir(where)) == sorted(names)


# Characters that are operators in a basic regular expression; `$` is one only at the end.
BRE_SPECIAL = "\\.*[]^"


@PROPERTY
@given(
    existing=st.lists(line_texts(), max_size=5),
    final_newline=st.booleans(),
    text=line_texts(BRE_SPECIAL).filter(lambda text: not text.endswith("$")),
    replace=st.none() | line_texts(),
    pick_existing=st.booleans(),
)
def test_files_line_matches_plain_text_anywhere_in_a_line(
    remote, existing, final_newline, text, replace, pick_existing
):
    where = remote.new_dir()
    path = os.path.join(where, "file")
    if existing and pick_existing:
        # Part of a line already there, when it is plain text.
        candidate = existing[len(text) % len(existing)][: len(text)]
        if candidate and not set(candidate) & set(BRE_SPECIAL) and not candidate.endswith("$"):
            text = candidate
    before = text_file(existing, final_newline)
    with open(path, "wb") as handle:
        handle.write(before)
    lines = file_lines(before)
    matching = [line for line in lines if text in line]

    remote.deploy(lambda: files.line(path, text, replace=replace))
    after = open(path, "rb").read()
    if replace is None:
        expected = before if matching else appended(before, text)
    elif matching:
        changed = any(line != replace for line in matching)
        expected = written([replace if text in line else line for line in lines]) if changed else before
    else:
        expected = before if replace in lines else appended(before, replace)
    assert after == expected
    remote.assert_nothing_executed()
