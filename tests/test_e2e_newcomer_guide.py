"""docs/guide.md, as written: every file it shows is written and every command it shows
is run, in order, through the real command against the test sshd; the output lines it
shows under a command must be in that command's output.

The guide's conventions: a line "`PATH`:" followed by a fenced block is a file; in a
```sh block, a line "$ COMMAND" is a command and the lines after it are output it
prints. Its two hosts' addresses (192.0.2.11, 192.0.2.12) are the test sshd's
127.0.0.2 and 127.0.0.3, and /srv/hello is a directory of the test's own."""

import json
import os
import re
import shlex
import subprocess

GUIDE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "guide.md")
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


def test_every_command_of_the_guide(pyinfra, tmp_path):
    srv = tmp_path / "srv" / "hello"
    replace = {"192.0.2.11": "127.0.0.2", "192.0.2.12": "127.0.0.3", "/srv/hello": str(srv)}

    def local(text):
        for old, new in replace.items():
            text = text.replace(old, new)
        return text

    cwd = tmp_path / "start"
    cwd.mkdir()
    dry_runs = 0
    for kind, what, shown in guide_steps():
        what = local(what)
        if kind == "file":
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
        result = pyinfra(*words[1:], cwd=cwd)
        assert result.returncode == 0, (what, result.output)
        printed = [line.strip() for line in result.output.splitlines()]
        for line in shown:
            assert local(line) in printed, (what, line, result.output)

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
                assert not srv.exists(), result.output
                assert "+listen = 8001" in result.output and "+listen = 8002" in result.output, result.output
            else:
                assert "+greeting = Hello again" in result.output, result.output
                assert "-greeting = Hello" in result.output, result.output
                assert (srv / "web1.conf").read_text().count("greeting = Hello\n") == 1
    assert dry_runs == 2
    for name, port in (("web1", 8001), ("web2", 8002)):
        conf = srv / f"{name}.conf"
        assert conf.read_text() == (
            f"# written by pyinfra for {name}\ngreeting = Hello again\nlisten = {port}\n"
        ), conf.read_text()
        assert oct(conf.stat().st_mode & 0o777) == "0o644"
    assert oct(srv.stat().st_mode & 0o777) == "0o755"
