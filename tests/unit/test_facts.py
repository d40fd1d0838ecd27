"""Every fact case in tests/cases/facts/<fact>/<case>.json: command output in, value out.

A case: {"arg": x or "args": [...] (optional), "output": [lines], "fact": value} and
optionally "exit_code" (default 0) and "stderr" ([lines]). A command that says the thing
is absent prints ABSENT (`__pyinfra_fact_absent__`). A case whose command failed or
whose output cannot be read has "error" instead of "fact": a piece of the message.
Values JSON cannot hold (datetime) are compared in their ISO form.
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import subprocess
from datetime import datetime

import pytest

from pyinfra.api import quote
from pyinfra.api.exceptions import FactCommandError
from pyinfra.api.facts import ABSENT, FACTS, get_fact_class, load_all_facts

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(os.path.dirname(HERE), "cases", "facts")
CASES = sorted(glob.glob(os.path.join(CASES_DIR, "*", "*.json")))


def jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return json.loads(json.dumps(value))


def case_args(case: dict) -> list:
    if "args" in case:
        return case["args"]
    return [case["arg"]] if "arg" in case else []


@pytest.mark.parametrize("path", CASES, ids=[os.path.relpath(p, CASES_DIR) for p in CASES])
def test_fact(path):
    with open(path) as handle:
        case = json.load(handle)
    fact = get_fact_class(os.path.basename(os.path.dirname(path)))()
    # The command for the case's arguments must build, whatever they are.
    assert isinstance(fact.make_command(*case_args(case)), str)
    if "error" in case:
        # Never a default: the command failed, or its output is not understood.
        with pytest.raises(Exception) as caught:
            fact.value(case.get("exit_code", 0), case["output"], case.get("stderr"))
        assert case["error"] in f"{type(caught.value).__name__}: {caught.value}"
        return
    value = fact.value(case.get("exit_code", 0), case["output"], case.get("stderr"))
    assert jsonable(value) == case["fact"]


# Arguments with a quote, a space and shell syntax: they must reach the host as one word.
HOSTILE = {
    "name": "/tmp/it's a $(reboot) `id`.txt",
    "pattern": "^a'b $(reboot)",
}
# Passwords made secrets by the facts reading them: not a word other tests print.
SAMPLE_ARGS = {
    "command": "echo hi",
    "ignore_case": True,
    "psql_password": "pw'sample $(id)",
    "mysql_password": "pw'sample $(id)",
}


def sample_args(cls) -> list:
    return [HOSTILE.get(name, SAMPLE_ARGS.get(name, "it's")) for name in cls.argument_names()]


def all_facts():
    load_all_facts()
    return sorted(FACTS)


@pytest.mark.parametrize("name", all_facts())
def test_fact_command_quotes_arguments(name):
    cls = get_fact_class(name)
    assert cls.__doc__, f"fact {name} has no docstring"
    args = sample_args(cls)
    command = cls().make_command(*args)
    assert isinstance(command, str)
    for arg_name, value in zip(cls.argument_names(), args):
        if arg_name in HOSTILE:
            assert quote(value) in command
    # The shell can parse it: no quote left open by a hostile argument.
    shlex.split(command)


def test_every_fact_has_cases():
    have = {os.path.basename(os.path.dirname(path)) for path in CASES}
    assert set(all_facts()) <= have


def test_linux_distribution_equals_its_name():
    fact = get_fact_class("linux_distribution")()
    centos = fact.process(
        [
            "[os-release]",
            'NAME="CentOS Linux"',
            'ID="centos"',
            'VERSION_ID="7"',
            "[redhat-release]",
            "CentOS Linux release 7.9.2009 (Core)",
        ]
    )
    assert centos == "CentOS"
    assert not (centos != "CentOS")
    assert centos != "Debian"
    assert not (centos == "Debian")
    assert centos == {"name": "CentOS", "major": 7, "minor": 9}
    assert centos["major"] == 7 and isinstance(centos, dict)
    assert json.loads(json.dumps(centos)) == {"name": "CentOS", "major": 7, "minor": 9}

    rhel = fact.process(["[os-release]", "ID=rhel", 'VERSION_ID="8.9"'])
    assert rhel == "RedHat" and rhel == "Red Hat Enterprise Linux" and rhel != "CentOS"

    unknown = fact.default_value()
    assert unknown != "CentOS" and not (unknown == "CentOS")
    assert unknown["name"] is None


def test_linux_distribution_of_this_machine():
    """The real command and parser agree on the machine running the tests."""
    fact = get_fact_class("linux_distribution")()
    result = subprocess.run(["sh", "-c", fact.make_command()], capture_output=True, text=True)
    value = fact.value(result.returncode, result.stdout.splitlines())
    with open("/etc/os-release") as handle:
        os_release = dict(line.strip().split("=", 1) for line in handle if "=" in line)
    if os_release.get("ID") == "debian":
        assert value == "Debian"
        assert value["major"] == int(os_release["VERSION_ID"].strip('"'))
        # The point release (12.11) is in /etc/debian_version, not in os-release.
        with open("/etc/debian_version") as handle:
            major, minor = handle.read().strip().split(".")[:2]
        assert (value["major"], value["minor"]) == (int(major), int(minor))


def needs_a_program():
    load_all_facts()
    return sorted(name for name, cls in FACTS.items() if cls.requires_command)


@pytest.mark.parametrize("name", needs_a_program())
def test_missing_program_is_default(name):
    """A fact needing a program the host lacks is its default, not an error."""
    cls = get_fact_class(name)
    fact = cls()
    command = fact.make_command(*sample_args(cls))
    result = subprocess.run(
        ["/bin/sh", "-c", command], capture_output=True, text=True, env={"PATH": "/nonexistent"}
    )
    assert result.returncode == 0
    assert result.stdout.splitlines() == [ABSENT]
    assert fact.value(result.returncode, result.stdout.splitlines()) == fact.default_value()


def read_here(name, *args, user=None):
    """A fact read on the machine running the tests, with its real command (as `user`)."""
    fact = get_fact_class(name)()
    command = ["sh", "-c", fact.make_command(*args)]
    if user:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    result = subprocess.run(command, capture_output=True, text=True, cwd="/")
    return fact.value(result.returncode, result.stdout.splitlines(), result.stderr.splitlines())


def test_facts_of_this_machine(tmp_path):
    """Commands and parsers agree on a real Debian host."""
    assert "bash" in read_here("deb_packages")
    assert read_here("deb_package", "bash")["name"] == "bash"
    assert read_here("deb_package", "no-such-package-here") is None
    assert any(d["mount"] == "/" for d in read_here("block_devices").values())
    assert read_here("network_devices")["lo"]["ipv4"]["address"] == "127.0.0.1"
    assert all(isinstance(port, int) for port in read_here("listening_ports"))
    assert read_here("which", "sh")
    assert read_here("rpm_packages") == {}
    assert read_here("yum_updates") is None

    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "f.txt").write_text("x")
    (tmp_path / "d" / "l").symlink_to("f.txt")
    base = str(tmp_path / "d")
    assert read_here("find_files", base) == [f"{base}/f.txt"]
    assert read_here("find_links", base) == [f"{base}/l"]
    assert sorted(read_here("find_directories", base)) == [base, f"{base}/e"]
    assert read_here("find_files", str(tmp_path / "nosuch")) == []

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(repo)], check=True)
    # A new repository without commits is on its branch already.
    assert read_here("git_branch", str(repo)) == "trunk"
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "one",
        ],
        check=True,
    )
    assert read_here("git_branch", str(repo)) == "trunk"
    assert read_here("git_pull_needed", str(repo), str(repo), "trunk") is False
    assert read_here("git_branch", base) is None


@pytest.fixture
def open_tmp():
    """A directory anyone may search (pytest's own are private to root)."""
    import pathlib
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix="pyinfra-f-facts-")
    os.chmod(path, 0o755)
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


def test_absent_only_when_the_host_says_so(open_tmp):
    """Behind a directory the reader may not search, a path is not "absent": the fact
    fails with the host's own words. Beside it, an absent path is None."""
    tmp_path = open_tmp
    private = tmp_path / "private"
    (private / "x").mkdir(parents=True)
    (private / "x" / "f").write_text("keep\n")
    private.chmod(0o700)
    target = str(private / "x" / "f")
    nobody = "65534"
    for name in ("file", "directory", "link", "sha1_file", "find_files", "find_links", "find_directories"):
        with pytest.raises(FactCommandError) as caught:
            read_here(name, target, user=nobody)
        assert "Permission denied" in str(caught.value), (name, caught.value)
    with pytest.raises(FactCommandError):
        read_here("find_in_file", target, "keep", user=nobody)
    # Absent: a missing name in a directory it may search, or under a missing one.
    for missing in (str(tmp_path / "none"), str(tmp_path / "none" / "deeper" / "f"), "/etc/passwd/x"):
        assert read_here("file", missing, user=nobody) is None
        assert read_here("sha1_file", missing, user=nobody) is None
        assert read_here("find_in_file", missing, "x", user=nobody) is None
        assert read_here("find_files", missing, user=nobody) == []
    # Root reads it.
    assert read_here("file", target)["size"] == 5
    assert read_here("find_in_file", target, "keep") == ["keep"]
    assert read_here("file", "relative-none") is None


def test_a_facts_arguments_are_checked_for_each_count_even_after_a_good_call():
    # The signature is bound once per (fact, argument count), not per host.
    from pyinfra.api.exceptions import FactError

    fact = get_fact_class("find_in_file")()
    assert "grep" in fact.make_command("/etc/hosts", "localhost")
    assert "grep -i" in fact.make_command("/etc/hosts", "localhost", True)
    for wrong in ((), ("/etc/hosts",), ("/etc/hosts", "a", True, "extra")):
        with pytest.raises(FactError, match=r"fact find_in_file takes \(name, pattern, ignore_case\)"):
            fact.make_command(*wrong)
    assert "grep" in fact.make_command("/etc/hosts", "localhost")
