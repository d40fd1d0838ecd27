"""Hosts as they are, not as they should be (issue 24): a login shell that prints, file
names that are not UTF-8 under a locale the host does not have, commands that flood
their output. Over the transport PYINFRA_SSH_TRANSPORT names (the suite runs both)."""

import json
import os
import pwd
import selectors
import subprocess

import pytest
from conftest import pyinfra_command
from support.users import BANNER, BROKEN_LOCALE, LOCALE, NOISY, QUITS

NOISY_DEPLOY = """
    from pyinfra import host
    from pyinfra.modules import files, server
    where = '{where}'
    files.directory(where, sudo=True, mode='755')
    files.put('small.txt', where + '/small.txt', sudo=True, mode='640')
    files.put('large.bin', where + '/large.bin', sudo=True)
    files.template('templates/motd.j2', where + '/motd', sudo=True)
    files.line(where + '/lines', 'wanted line', sudo=True)
    files.put('small.txt', '/home/{user}/mine.txt')
    server.user('pyinfra-t-guest', sudo=True, ensure_home=False)
    server.shell('[ -t 2 ] && echo terminal > {where}/tty-{{{{ host.name }}}}', sudo=True, get_pty=True)
    if host.fact.home != '/home/{user}' or host.fact.os != 'Linux':
        raise SystemExit('facts read the banner: ' + repr((host.fact.home, host.fact.os)))
"""


@pytest.fixture
def noisy(pyinfra_as, public_dir, deploy_dir):
    where = public_dir / "noisy"
    root = deploy_dir({
        "deploy.py": NOISY_DEPLOY.format(where=where, user=NOISY),
        "small.txt": "small file\n",
        "templates/motd.j2": "served by {{ host.name }}\n",
    })
    if os.path.exists(f"/home/{NOISY}/mine.txt"):
        os.unlink(f"/home/{NOISY}/mine.txt")
    (root / "large.bin").write_bytes(os.urandom(600 * 1024))  # streamed, not through the shell
    try:
        yield pyinfra_as(NOISY), root, where
    finally:
        subprocess.run(["userdel", "pyinfra-t-guest"], capture_output=True)


def test_a_login_shell_that_prints_changes_nothing(noisy):
    """The banner of ~/.bashrc (bash reads it for `ssh host command`) reaches neither
    facts nor output; the deploy converges."""
    run, root, where = noisy
    # the host really prints it, on both streams, before any command
    check = run("127.0.0.2", "--run", "true", "--debug", cwd=root)
    assert f"{BANNER} (stdout, bash)" in check.output and f"{BANNER} (stderr)" in check.output

    first = run("127.0.0.2", "deploy.py", cwd=root)
    assert first.returncode == 0, first.output
    assert "0 failed" in first.output and BANNER not in first.output
    assert (where / "small.txt").read_text() == "small file\n"
    assert oct((where / "small.txt").stat().st_mode & 0o777) == "0o640"
    assert (where / "large.bin").read_bytes() == (root / "large.bin").read_bytes()
    assert (where / "motd").read_text() == "served by 127.0.0.2\n"
    assert (where / "lines").read_text() == "wanted line\n"
    assert pwd.getpwnam("pyinfra-t-guest")
    assert (where / "tty-127.0.0.2").read_text() == "terminal\n"
    mine = f"/home/{NOISY}/mine.txt"
    assert open(mine).read() == "small file\n" and pwd.getpwuid(os.stat(mine).st_uid).pw_name == NOISY

    second = run("127.0.0.2", "deploy.py", cwd=root)
    assert second.returncode == 0, second.output
    # the get_pty shell command runs again: every other operation is unchanged
    assert "1 changed" in second.output.splitlines()[-1], second.output

    ran = run("127.0.0.2", "--run", "uptime; echo on-stderr >&2", cwd=root)
    assert ran.returncode == 0, ran.output
    assert " load average: " in ran.stdout and "[127.0.0.2] on-stderr" in ran.stderr
    assert BANNER not in ran.output and "__pyinfra" not in ran.output

    facts = run("127.0.0.2", "--fact", "home", "--fact", "command:echo exact", "--sudo", cwd=root)
    assert facts.returncode == 0, facts.output
    assert json.loads(facts.stdout)["127.0.0.2"] == {"home": "/root", "command:echo exact": "exact"}


def test_a_login_shell_that_exits_first_runs_nothing_and_says_so(pyinfra_as, public_dir, deploy_dir):
    """A ~/.bashrc that exits (status 0) before the command: never reported as done."""
    root = deploy_dir({
        "deploy.py": f"from pyinfra.modules import server\nserver.shell('touch {public_dir}/ran')\n",
    })
    run = pyinfra_as(QUITS)
    for args in (["deploy.py"], ["--run", f"touch {public_dir}/ran"]):
        result = run("127.0.0.2", *args, cwd=root)
        assert result.returncode == 1, result.output
        assert "the login shell ended before it ran the command" in result.output
        assert "0 host(s) succeeded, 1 failed" in result.output
    fact = run("127.0.0.2", "--fact", "os", cwd=root)
    assert "leaving now" not in json.loads(fact.stdout)["127.0.0.2"].get("os", "")
    assert "the login shell ended before it ran the command" in fact.stdout
    assert not (public_dir / "ran").exists()


LATIN1_DEPLOY = """
    import os
    from pyinfra import host
    from pyinfra.modules import files
    SUDO = True
    where = '{where}'
    files.sync('tree', where + '/synced', delete=True)
    files.directory(where + '/' + os.fsdecode(b'made-\\xe9'))
    # names read from the host, given back to it: the same bytes
    for path in host.fact.find_files(where + '/found'):
        files.file(path, mode='600')
"""


def test_names_that_are_not_utf8_under_a_broken_locale(pyinfra_as, public_dir, deploy_dir):
    """A latin-1 file name survives the trip host -> fact -> command -> host, with the
    login's locale missing on the host (bash warns of it before every command)."""
    where = public_dir / "latin1"
    root = deploy_dir({"deploy.py": LATIN1_DEPLOY.format(where=where)})
    tree = os.fsencode(root / "tree")
    os.makedirs(os.path.join(tree, b"r\xe9p"))
    for name, text in ((b"caf\xe9", "latin-1\n"), (b"r\xe9p/ni\xf1o", "nested\n"), (b"plain", "ok\n")):
        with open(os.path.join(tree, name), "w") as handle:
            handle.write(text)
    remote, found = os.fsencode(where / "synced"), os.fsencode(where / "found")
    for directory, name in ((remote, b"old\xff"), (found, b"mode-\xe9"), (found, b"mode-\xff")):
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, name), "w") as handle:
            handle.write("there before\n")
        os.chmod(os.path.join(directory, name), 0o644)
    run = pyinfra_as(LOCALE)
    # the host's locale really is missing for this login
    check = run("127.0.0.2", "--run", "locale", "--debug", cwd=root)
    assert f"LC_ALL={BROKEN_LOCALE}" in check.output and "cannot change locale" in check.output

    first = run("127.0.0.2", "deploy.py", cwd=root, env={"LC_ALL": BROKEN_LOCALE})
    assert first.returncode == 0, first.output
    assert "Traceback" not in first.output
    assert sorted(os.listdir(remote)) == [b"caf\xe9", b"plain", b"r\xe9p"]
    assert os.path.isdir(os.path.join(os.fsencode(where), b"made-\xe9"))
    assert os.listdir(os.path.join(remote, b"r\xe9p")) == [b"ni\xf1o"]
    assert open(os.path.join(remote, b"caf\xe9")).read() == "latin-1\n"
    for name in (b"mode-\xe9", b"mode-\xff"):  # old\xff was deleted: a name from a fact too
        assert os.stat(os.path.join(found, name)).st_mode & 0o777 == 0o600, name
    # the terminal shows the bytes escaped, never raw
    assert "found/mode-\\xe9, mode=600" in first.output

    second = run("127.0.0.2", "deploy.py", cwd=root, env={"LC_ALL": BROKEN_LOCALE})
    assert second.returncode == 0, second.output
    assert second.output.splitlines()[-1].strip().endswith("0 changed"), second.output

    printf = 'command:printf "\\377 bad\\n"'
    fact = run("127.0.0.2", "--fact", printf, "--fact", f"find_files:{where}/synced", cwd=root)
    assert fact.returncode == 0, fact.output
    assert "Traceback" not in fact.output
    values = json.loads(fact.stdout)["127.0.0.2"]  # JSON carries text: U+FFFD for a byte
    assert values[printf] == "\ufffd bad"
    assert sorted(values[f"find_files:{where}/synced"]) == sorted(
        f"{where}/synced/{name}" for name in ("caf\ufffd", "plain", "r\ufffdp/ni\ufffdo")
    )


def run_measured(sshd, home, *args, cwd):
    """Run the real command; (returncode, stdout, stderr, peak RSS in MB) of that one
    process (wait4 gives its own rusage, not the test run's other children)."""
    command = pyinfra_command() + [str(a) for a in args] + ["--port", str(sshd.port)]
    env = dict(os.environ, HOME=str(home), NO_COLOR="1")
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Both pipes read to their end here, in this thread, before the wait: a reader
    # thread that fell behind would leave the command blocked on a full pipe.
    out, err = [], []
    pending = {process.stdout.fileno(): out, process.stderr.fileno(): err}
    with selectors.DefaultSelector() as selector:
        for fd in pending:
            selector.register(fd, selectors.EVENT_READ)
        while pending:
            for key, _ in selector.select():
                data = os.read(key.fd, 1 << 20)
                if data:
                    pending[key.fd].append(data)
                else:
                    selector.unregister(key.fd)
                    del pending[key.fd]
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    process.stderr.close()
    decoded = [b"".join(part).decode("utf-8", "replace") for part in (out, err)]
    return process.returncode, decoded[0], decoded[1], usage.ru_maxrss / 1024


FLOODS = {
    "long": "head -c 100000000 /dev/zero | tr '\\0' x | fold -w 1000",  # 100 MB
    "seq": "seq 1 1000000",  # a million lines
    "short": "yes ab | head -c 6000000",  # 2 million short lines: kept by count
}


def test_output_floods_keep_the_controller_small(sshd, ssh_home, deploy_dir):
    """Commands printing 100 MB or millions of lines: the run completes, the
    controller stays under 400 MB (with -v, --json, and for a fact)."""
    calls = "".join(f"server.shell({command!r})\n" for command in FLOODS.values())
    root = deploy_dir({"deploy.py": "from pyinfra.modules import server\n" + calls})
    runs = {
        "plain": ("127.0.0.2", "deploy.py"),
        "json": ("127.0.0.2", "deploy.py", "--json"),
        "fact": ("127.0.0.2", "--fact", f"command:{FLOODS['seq']}"),
        "fact too large": ("127.0.0.2", "--fact", f"command:{FLOODS['short']}"),
    }
    results = {name: run_measured(sshd, ssh_home, *args, cwd=root) for name, args in runs.items()}
    (root / "verbose.py").write_text(
        "from pyinfra.modules import server\n"
        + "".join(f"server.shell({FLOODS[name]!r})\n" for name in ("long", "seq"))
    )
    results["-v"] = run_measured(sshd, ssh_home, "127.0.0.2", "verbose.py", "-v", cwd=root)
    for name, (code, out, err, peak) in results.items():
        assert "Traceback" not in out + err, name
        assert peak < 400, (name, peak)

    code, out, err, _ = results["plain"]
    assert code == 0 and "3 operations, 3 changed" in out, out + err
    code, out, err, _ = results["-v"]
    assert code == 0 and out.count("x" * 1000) == 100000 and "[127.0.0.2] 999999\n" in out, err
    code, out, err, _ = results["json"]
    assert code == 0, err
    operations = json.loads(out)["hosts"]["127.0.0.2"]["operations"]
    assert len(operations[1]["stdout"]) == 1000000  # all of seq's lines
    kept = operations[2]["stdout"]  # a bounded tail of the 2 million short lines
    assert 500000 < len(kept) < 1200000 and kept[-1] == "ab", len(kept)
    code, out, err, _ = results["fact"]
    assert code == 0, err
    lines = json.loads(out)["127.0.0.2"].splitlines()  # one fact: its value
    assert len(lines) == 1000000 and lines[-1] == "1000000"
    code, out, err, _ = results["fact too large"]
    assert code == 1 and "output too large to read whole" in out, out + err
