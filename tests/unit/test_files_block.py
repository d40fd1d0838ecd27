"""files.block on real files of this machine: its facts read by their real commands, its
commands run by the real shell and awk (Debian's, and busybox's as on Alpine), the
file they write equal to what its diff shows (the same edit in Python), and planned
again from the facts of the written file it changes nothing."""

import os
import subprocess

import pytest
from support.chroot import BUSYBOX, ensure_busybox_installed

from pyinfra.api import OperationError
from pyinfra.api.diff import ContentChange
from pyinfra.api.facts import get_fact_class
from pyinfra.modules import files
from pyinfra.modules._lines import escape_bre
from pyinfra.modules.files._block import block_edit

B, E = "# BEGIN PYINFRA BLOCK", "# END PYINFRA BLOCK"


class Facts:
    """host.fact read on this machine, through `sh` on `path`."""

    def __init__(self, path):
        self.env = {"PATH": path}

    def __getattr__(self, name):
        fact = get_fact_class(name)()

        def read(*args):
            command = ["sh", "-c", fact.make_command(*args)]
            result = subprocess.run(command, capture_output=True, text=True, env=self.env)
            return fact.value(result.returncode, result.stdout.splitlines(), result.stderr.splitlines())

        return read


class Host:
    name = "here"

    def __init__(self, path):
        self.fact = Facts(path)


@pytest.fixture(params=["debian", "busybox"])
def tools(request, tmp_path):
    """The PATH the facts and commands run with: this machine's, or busybox's applets."""
    if request.param == "debian":
        return os.environ["PATH"]
    ensure_busybox_installed()
    bin_dir = tmp_path / "busybox-bin"
    bin_dir.mkdir()
    for applet in ("sh", "awk", "grep", "rm", "mv", "chmod", "chown", "cat", "stat", "sha1sum", "printf"):
        (bin_dir / applet).symlink_to(BUSYBOX)
    return str(bin_dir)


def plan(host, path, *args, **kwargs):
    return list(files.block.operation_function(None, host, path, *args, **kwargs))


def apply(tools, commands):
    for command in commands:
        result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, env={"PATH": tools})
        assert result.returncode == 0, (command, result.stderr)


CASES = [
    # (file before, content, kwargs)
    ("a\nb\nc\n", "x\ny\n", {}),
    ("a\nb\nc", "x", {"before": True}),
    ("a\n127.0.0.1 local\nc\n", ["10.0.0.1 mars"], {"line": "^127\\.0", "before": True}),
    ("a\n127.0.0.1 [local]\nc\n", "x", {"line": "1 [local]", "after": True, "escape_regex_characters": True}),
    ("a\nb\n", "x", {"line": "nowhere", "after": True}),
    (f"a\n{B}\nold\n{E}\nc\n{B}\nagain\n{E}\n", ["new", ""], {"line": "^c", "before": True}),
    ("", "x", {"before": True}),
    (None, "it's $(id) `id` \\n %s", {}),
    ("<body>\n</body>\n", "<p>old</p>", {"marker": "<!-- {mark} -->", "line": "<body>", "after": True}),
]


@pytest.mark.parametrize("before, content, kwargs", CASES)
def test_the_file_written_is_the_diff_and_converges(tools, tmp_path, before, content, kwargs):
    path = str(tmp_path / "it's a $(x).conf")
    if before is not None:
        with open(path, "w") as handle:
            handle.write(before)
        os.chmod(path, 0o640)
    host = Host(tools)
    commands = plan(host, path, content, **kwargs)
    assert commands
    apply(tools, commands)
    begin_end = ("<!-- BEGIN -->", "<!-- END -->") if "marker" in kwargs else (B, E)
    wanted = content if isinstance(content, list) else content.rstrip("\n").split("\n")
    pattern = kwargs.get("line")
    if pattern and kwargs.get("escape_regex_characters"):
        pattern = escape_bre(pattern)
    where = "before" if kwargs.get("before") else "after"
    edit = block_edit(*begin_end, wanted, pattern, where)
    with open(path, "rb") as handle:
        written = handle.read()
    assert written == edit((before or "").encode())
    assert written.count(begin_end[0].encode()) == 1
    assert oct(os.stat(path).st_mode & 0o777) == ("0o640" if before is not None else "0o644")
    assert left_in(tmp_path) == [os.path.basename(path)]  # no temporary file left
    assert plan(host, path, content, **kwargs) == []

    marker = {"marker": kwargs["marker"]} if "marker" in kwargs else {}
    apply(tools, plan(host, path, present=False, **marker))
    with open(path) as handle:
        left = handle.read()
    assert begin_end[0] not in left and begin_end[1] not in left
    assert plan(host, path, present=False, **marker) == []


def left_in(directory):
    return sorted(name for name in os.listdir(directory) if name != "busybox-bin")


class Planned:
    """A host whose file facts were read before the file changed."""

    class fact:
        @staticmethod
        def file(path):
            return {"user": "root", "group": "root", "mode": 600}

        @staticmethod
        def file_block(path, begin, end):
            return []


def test_a_block_that_never_ends_leaves_the_file_alone(tools, tmp_path):
    path = tmp_path / "f.conf"
    path.write_text(f"a\n{B}\nthe rest\n")
    with pytest.raises(ValueError, match="no end marker"):
        plan(Host(tools), str(path), "x")
    # Run anyway (the file changed after the facts were read): awk refuses, nothing moves.
    commands = plan(Planned(), str(path), "x")
    result = subprocess.run(["sh", "-c", commands[0]], capture_output=True, text=True, env={"PATH": tools})
    assert result.returncode == 3 and "begins a block that never ends" in result.stderr
    assert path.read_text() == f"a\n{B}\nthe rest\n"
    assert left_in(tmp_path) == ["f.conf"]


def test_a_link_is_refused(tmp_path):
    (tmp_path / "target").write_text("a\n")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(OperationError, match="exists and is not a file"):
        plan(Host(os.environ["PATH"]), str(tmp_path / "link"), "x")


def test_the_diff_is_noted(tmp_path):
    """--diff shows the block change: the operation notes it as a content edit."""
    from pyinfra.api import context

    path = tmp_path / "f.conf"
    path.write_text("a\n")
    made = context.Making({})
    host = Host(os.environ["PATH"])
    with context.making(None, host, made):
        plan(host, str(path), "x")
    (change,) = made.changes
    assert isinstance(change, ContentChange) and change.exists
    assert change.edit(b"a\n") == f"a\n{B}\nx\n{E}\n".encode()
