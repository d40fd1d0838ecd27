"""Every exit code docs/cli.md documents, each listed cause once, with the real command
against the test sshd: 2 for what was typed on the command line, 1 for a host that
failed or an error in one of the user's files (named with its line), 0 for success.
130 (Ctrl-C), 143 (SIGTERM) and 129 (SIGHUP) are tested where the real signal is sent:
tests/test_e2e_interrupt.py."""

import re
import socket
from pathlib import Path

import pytest
from support import users

DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "cli.md"
OK = "from pyinfra.modules import server\nserver.shell('true')\n"
ROOT_ONLY = "{tmp}/private/x"  # under pytest's tmp dir: only root may look inside

# (id, files, arguments, exit code, a piece of what the user is told, login)
CASES = [
    ("success", {"deploy.py": OK}, ["deploy.py"], 0, "1 host(s) succeeded, 0 failed", None),
    # 1: a host failed
    ("connect", {"deploy.py": OK}, ["deploy.py", "--port", "{closed}"], 1, "Connection refused", None),
    (
        "fact",
        {"deploy.py": f"from pyinfra.modules import files\nfiles.file('{ROOT_ONLY}/f')\n"},
        ["deploy.py"],
        1,
        "Permission denied",
        users.NOSUDO,
    ),
    (
        "command",
        {"deploy.py": "from pyinfra.modules import server\nserver.shell('exit 3')\n"},
        ["deploy.py"],
        1,
        "exit status 3",
        None,
    ),
    # 1: a hook stopped the run
    (
        "hook",
        {
            "deploy.py": "from pyinfra import hook\n@hook.before_deploy\ndef stop(data, state):\n"
            "    raise hook.Error('stopped by the hook')\n" + OK
        },
        ["deploy.py"],
        1,
        "stopped by the hook",
        None,
    ),
    # 1: an error in a user file, named with its line
    (
        "syntax",
        {"deploy.py": OK + "server.shell('x'\n"},
        ["deploy.py"],
        1,
        "deploy.py, line 3: syntax error",
        None,
    ),
    (
        "exception",
        {"deploy.py": OK + "1 / 0\n"},
        ["deploy.py"],
        1,
        "deploy.py, line 3: ZeroDivisionError",
        None,
    ),
    (
        "unknown-operation",
        {"deploy.py": OK + "server.shel('true')\n"},
        ["deploy.py"],
        1,
        "deploy.py, line 3: unknown operation server.shel (did you mean: server.shell?)",
        None,
    ),
    (
        "unknown-module",
        {"deploy.py": "from pyinfra.modules import nosuch\n"},
        ["deploy.py"],
        1,
        "deploy.py, line 1: ImportError: cannot import name 'nosuch'",
        None,
    ),
    (
        "unknown-fact",
        {"deploy.py": "from pyinfra import host\nhost.fact.nosuch\n"},
        ["deploy.py"],
        1,
        "deploy.py, line 2: unknown fact: nosuch",
        None,
    ),
    (
        "operation-arguments",
        {"deploy.py": "from pyinfra.modules import files\nfiles.directory()\n"},
        ["deploy.py"],
        1,
        "deploy.py, line 2: files.directory(): missing a required argument: 'name'",
        None,
    ),
    (
        "fact-arguments",
        {"deploy.py": "from pyinfra import host\nhost.fact.file()\n"},
        ["deploy.py"],
        1,
        "deploy.py, line 2: fact file takes (name), got 0 argument(s)",
        None,
    ),
    (
        "pyinfra-3-import",
        {"deploy.py": "from pyinfra.operations import server\n"},
        ["deploy.py"],
        1,
        "deploy.py, line 1: `pyinfra.operations` is pyinfra 3's",
        None,
    ),
    (
        "inventory",
        {"inventory.py": "HOSTS = ['127.0.0.2'\n", "deploy.py": OK},
        ["inventory.py", "deploy.py"],
        1,
        "inventory.py, line 1: syntax error",
        None,
    ),
    (
        "group-data",
        {
            "inventory.py": "HOSTS = ['127.0.0.2']\n",
            "group_data/all.py": "x = undefined_name\n",
            "deploy.py": OK,
        },
        ["inventory.py", "deploy.py"],
        1,
        "all.py, line 1: NameError",
        None,
    ),
    (
        "config",
        {"config.py": "TIMEOUT = 1 / 0\n", "deploy.py": OK},
        ["deploy.py"],
        1,
        "config.py, line 1",
        None,
    ),
    # 2: the command line is wrong; nothing connects
    ("option", {"deploy.py": OK}, ["deploy.py", "--nosuch"], 2, "No such option '--nosuch'", None),
    ("run-module", {}, ["--run", "nosuch.op"], 2, "unknown module: nosuch", None),
    ("run-operation", {}, ["--run", "server.shel", "true"], 2, "unknown operation: server.shel", None),
    ("fact-name", {}, ["--fact", "nosuch"], 2, "unknown fact: nosuch", None),
    ("fact-name-arguments", {}, ["--fact", "file"], 2, "fact file takes 1 argument(s)", None),
    (
        "limit",
        {"deploy.py": OK},
        ["deploy.py", "--limit", "nowhere"],
        2,
        "--limit nowhere matches no host",
        None,
    ),
    ("missing-deploy", {}, ["deploy.py"], 2, "deploy file not found: deploy.py", None),
    (
        "missing-inventory",
        {"deploy.py": OK},
        ["inventory.py", "deploy.py"],
        2,
        "inventory file not found",
        None,
    ),
    ("pyinfra-3-spelling", {}, ["--fact", "server.Os"], 2, "did you mean `--fact os`?", None),
]


# What the row of each case's code in docs/cli.md says, so that the documented causes
# are the tested ones.
DOCUMENTED = {
    "success": "every targeted host succeeded",
    "connect": "connect",
    "fact": "fact",
    "command": "command",
    "hook": "a hook stopped the run",
    "syntax": "syntax error",
    "exception": "an exception",
    "unknown-operation": "an unknown operation",
    "unknown-module": "module",
    "unknown-fact": "module or fact",
    "operation-arguments": "wrong arguments to an operation",
    "fact-arguments": "or fact",
    "pyinfra-3-import": "a `pyinfra.operations` import",
    "inventory": "inventory",
    "group-data": "group data",
    "config": "`config.py`",
    "option": "unknown option",
    "run-module": "`--run` module",
    "run-operation": "or operation",
    "fact-name": "`--fact` name",
    "fact-name-arguments": "wrong `--fact` arguments",
    "limit": "`--limit` matching nothing",
    "missing-deploy": "a deploy file",
    "missing-inventory": "an inventory",
    "pyinfra-3-spelling": "a pyinfra 3 spelling",
}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "files, args, code, message, login",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_exit_code(pyinfra, pyinfra_as, deploy_dir, tmp_path, files, args, code, message, login):
    (tmp_path / "private" / "x").mkdir(parents=True)
    tmp_path.chmod(0o700)
    fill = {"tmp": tmp_path, "closed": closed_port()}
    root = deploy_dir({name: text.format(**fill) for name, text in files.items()})
    args = [arg.format(**fill) for arg in args]
    if not args[0].endswith("inventory.py"):
        args.insert(0, "127.0.0.2")
    run = pyinfra_as(login) if login else pyinfra
    # --port after the others: the connect case gives its own, which click takes last.
    result = run(*args, cwd=root, port="--port" not in args)
    assert result.returncode == code, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    if code:
        errors = [line for line in result.output.splitlines() if line.startswith(("error:", "Error:"))]
        assert len(errors) <= 1, result.output


def test_the_table_in_the_docs_is_the_one_tested():
    """docs/cli.md lists the codes tested here (and 130, 143 and 129, the signals, in
    test_e2e_interrupt.py), each cause tested here in the row of the code it gives."""
    text = DOCS.read_text()
    table = text.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    rows = {int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.*) \|$", table, re.M)}
    assert set(rows) == {case[3] for case in CASES} | {130, 143, 129}
    assert sorted(DOCUMENTED) == sorted(case[0] for case in CASES)
    for name, _, _, code, _, _ in CASES:
        assert DOCUMENTED[name] in rows[code], (name, code, rows[code])
    interrupt = (Path(__file__).parent / "test_e2e_interrupt.py").read_text()
    assert "returncode == 130" in interrupt
    assert "(signal.SIGTERM, 143), (signal.SIGHUP, 129)" in interrupt
