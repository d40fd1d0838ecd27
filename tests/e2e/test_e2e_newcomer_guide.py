"""docs/guide.md, as written: every file it shows is written and every command it shows
is run, in order, through the real command against the test sshd on this machine,
writing the guide's own /srv/hello; the output lines it shows under a command must be
in that command's output. It runs twice: logging in as an ordinary user whose sudo
asks no password (tests/users.py, pyinfra-t-sudo), the common case, and as root.

The guide's conventions: a line "`PATH`:" followed by a fenced block is a file; in a
```sh block, a line "$ COMMAND" is a command and the lines after it are output it
prints.

What the guide leaves to the reader's own machines is the only thing changed: the
addresses it tells the reader to put in the inventory (192.0.2.11, 192.0.2.12) become
the test sshd's 127.0.0.2 and 127.0.0.3, and every `pyinfra` command gets the login a
reader's ~/.ssh/config or shell would give: `--port` (the sshd's free port), `--user
pyinfra-t-sudo` for the ordinary login (root is the local user, the guide's default),
and the client key as the default key ~/.ssh/id_ed25519 of a temporary HOME (the
`pyinfra` and `pyinfra_as` fixtures of tests/conftest.py)."""

import fcntl
import json
import os
import pwd
import re
import shlex
import shutil
import subprocess

import pytest
from support import REPO

GUIDE = os.path.join(REPO, "docs", "guide.md")
FILE_TITLE = re.compile(r"^`([^`]+)`:$")


def guide_steps():
    """[("file", path, text) | ("command", command, [output lines])] in order."""
    lines = open(GUIDE).read().splitlines()
    steps, i = [], 0
    while i < len(lines):
        title = FILE_TITLE.match(lines[i])
        if title:
            i += 1
            while not lines[i].strip():
                i += 1
            assert lines[i].startswith("```"), f"{title.group(1)}: no block after the title"
            end = lines.index("```", i + 1)
            steps.append(("file", title.group(1), "\n".join(lines[i + 1 : end]) + "\n"))
            i = end + 1
        elif lines[i] == "```sh":
            end = lines.index("```", i + 1)
            for line in lines[i + 1 : end]:
                if line.startswith("$ "):
                    steps.append(("command", line[2:], []))
                elif line.strip():
                    steps[-1][2].append(line.strip())
            i = end + 1
        else:
            i += 1
    return steps


def test_the_guide_covers_what_a_newcomer_needs():
    steps = guide_steps()
    files = [step[1] for step in steps if step[0] == "file"]
    commands = [step[1] for step in steps if step[0] == "command"]
    assert {"inventory.py", "group_data/web_servers.py", "templates/hello.conf.j2", "deploy.py"} <= set(files)
    for option in ("--dry --diff", "--limit", "--run", "--fact"):
        assert any(option in command for command in commands), option
    # It ends with a run that changes nothing.
    assert steps[-1][2] and steps[-1][2][-1].endswith(" 0 changed"), steps[-1]


# Where the guide's deploy writes: its group data's app_dir. The test removes it, so it
# must be what the guide says, and somewhere removing it harms nothing else.
APP_DIR = re.search(r"^app_dir = '(/srv/[^']+)'$", open(GUIDE).read(), re.M).group(1)
ADDRESSES = {"192.0.2.11": "127.0.0.2", "192.0.2.12": "127.0.0.3"}
ROOT_LEAVES_OUT = "If you log in as root, leave `config.py` out"


@pytest.fixture
def app_dir():
    """The guide's /srv/hello, absent at the start and removed at the end. Test runs
    of other checkouts on this machine write it too: they take turns."""
    with open("/tmp/pyinfra-tests-guide-app-dir.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.lexists(APP_DIR):
            # Only an interrupted run of this test leaves it (the guide's two files).
            left = set(os.listdir(APP_DIR))
            assert left <= {"web1.conf", "web2.conf"}, f"{APP_DIR} exists and is not this test's: {left}"
            shutil.rmtree(APP_DIR)
        try:
            yield APP_DIR
        finally:
            shutil.rmtree(APP_DIR, ignore_errors=True)


@pytest.mark.parametrize("login", ["pyinfra-t-sudo", "root"])
def test_every_command_of_the_guide(login, app_dir, pyinfra, pyinfra_as, tmp_path):
    run = pyinfra if login == "root" else pyinfra_as(login)
    assert pwd.getpwuid(os.getuid()).pw_name == "root", "root is the local user: the guide's default login"
    if login == "root":
        # The guide tells root logins to leave config.py (SUDO = True) out.
        assert ROOT_LEAVES_OUT in " ".join(open(GUIDE).read().split())

    def local(text):
        for old, new in ADDRESSES.items():
            text = text.replace(old, new)
        return text

    cwd = tmp_path / "start"
    cwd.mkdir()
    dry_runs = 0
    for kind, what, shown in guide_steps():
        if kind == "file":
            if login == "root" and what == "config.py":
                continue
            path = cwd / what
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(local(shown))
            continue
        words = shlex.split(what)
        if words[0] == "cd":
            cwd = cwd / words[1]
            continue
        if words[0] != "pyinfra":
            done = subprocess.run(what, shell=True, cwd=cwd, capture_output=True, text=True)
            assert done.returncode == 0, (what, done.stdout + done.stderr)
            continue
        result = run(*words[1:], cwd=cwd)
        assert result.returncode == 0, (what, result.output)
        printed = [line.strip() for line in result.output.splitlines()]
        for line in shown:
            assert line in printed, (what, line, result.output)

        # What each step says it does, checked on the hosts.
        if "--fact" in words:
            assert sorted(json.loads(result.stdout)) == ["web1", "web2"], result.stdout
        elif "--run" in words and "uname" in what:
            assert "Linux" in result.stdout, result.output
        elif "--run" in words:
            assert "greeting = Hello again" in result.stdout, result.output
        elif "--dry" in words:
            dry_runs += 1
            if dry_runs == 1:
                assert not os.path.exists(app_dir), result.output
                assert "+listen = 8001" in result.output and "+listen = 8002" in result.output, result.output
            else:
                assert "+greeting = Hello again" in result.output, result.output
                assert "-greeting = Hello" in result.output, result.output
                with open(os.path.join(app_dir, "web1.conf")) as handle:
                    assert handle.read().count("greeting = Hello\n") == 1
    assert dry_runs == 2
    # Made through sudo or by root: root's, with the modes the deploy asks for.
    for name, port in (("web1", 8001), ("web2", 8002)):
        conf = os.path.join(app_dir, f"{name}.conf")
        with open(conf) as handle:
            text = handle.read()
        assert text == f"# written by pyinfra for {name}\ngreeting = Hello again\nlisten = {port}\n", text
        stat = os.stat(conf)
        assert (stat.st_uid, stat.st_gid, oct(stat.st_mode & 0o777)) == (0, 0, "0o644"), conf
    stat = os.stat(app_dir)
    assert (stat.st_uid, stat.st_gid, oct(stat.st_mode & 0o777)) == (0, 0, "0o755")
