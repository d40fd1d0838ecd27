"""Round trips on the wire (issue 15, part 2), through the real command against the test
sshd: how many times a host is written to and answered, counted from `--debug` (one
`one round trip` line per write to the host's shell), and --no-wait sending a host's
operations in chains while keeping each one's results, the stop at the first failure
and the dependent-operations guarantee."""

import json

import pytest
from support import users

SHELL = {"PYINFRA_SSH_TRANSPORT": "shell"}  # round trips are counted on the shell transport
HOSTS = ("127.0.0.2", "127.0.0.3")

# The bench's 7 steps (scripts/benchlib/deploy.py): on a first run every one changes,
# and the line depends on the file made just before it.
SEVEN_STEPS = """
from pyinfra import host
from pyinfra.modules import files, server
tree = '{{ host.data.base }}/{{ host.name }}'
files.directory(tree, recursive=True)
files.put('files/app.conf', tree + '/app.conf')
files.template('templates/motd.jn2', tree + '/motd')
files.file(tree + '/log', mode='600')
files.line(tree + '/log', 'started')
files.link(tree + '/current', target=tree + '/app.conf')
server.shell('uptime > ' + tree + '/uptime')
"""


def seven_steps(deploy_dir, base):
    return deploy_dir(
        {
            "inventory.py": f"HOSTS = {list(HOSTS)!r}\n",
            "group_data/all.py": f"base = '{base}'\n",
            "files/app.conf": "listen 80\n",
            "templates/motd.jn2": "Welcome to {{ host.name }}\n",
            "deploy.py": SEVEN_STEPS,
        }
    )


def round_trips(output, name):
    return len([line for line in output.splitlines() if f"[{name}] one round trip" in line])


def check_trees(base):
    for name in HOSTS:
        tree = base / name
        assert (tree / "app.conf").read_text() == "listen 80\n"
        assert (tree / "motd").read_text() == f"Welcome to {name}\n"
        assert (tree / "log").read_text() == "started\n"
        assert oct((tree / "log").stat().st_mode & 0o777) == "0o600"
        assert (tree / "current").resolve() == tree / "app.conf"
        assert (tree / "uptime").exists()


@pytest.mark.parametrize(
    "flags, first, second",
    [
        # Waiting for every host at each operation: the facts, then one round trip per
        # operation that changes (the line's facts ride behind the file's commands).
        ((), 1 + 7, 1 + 1),
        # --no-wait: the facts, then all seven steps; the line, which depends on the
        # file made just before it, checks on the host whether it is there.
        (("--no-wait",), 2, 2),
    ],
    ids=["wait", "no-wait"],
)
def test_round_trips_per_host(pyinfra, deploy_dir, tmp_path, flags, first, second):
    base = tmp_path / "hosts"
    root = seven_steps(deploy_dir, base)
    for run, expected in (("first", first), ("second", second)):
        result = pyinfra("inventory.py", "deploy.py", "--debug", *flags, cwd=root, env=SHELL)
        assert result.returncode == 0, result.output
        check_trees(base)
        for name in HOSTS:
            assert round_trips(result.output, name) == expected, (run, name, result.output)


def test_no_wait_converges_on_dependent_operations(pyinfra, deploy_dir, tmp_path):
    """An upload puts back the file without the line; the line, in the next chain, is
    made from the file as the upload left it, on every run."""
    base = tmp_path / "hosts"
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = {list(HOSTS)!r}\n",
            "group_data/all.py": f"base = '{base}'\n",
            "files/app.conf": "listen 80\n",
            "deploy.py": """
            from pyinfra.modules import files
            conf = '{{ host.data.base }}/{{ host.name }}/app.conf'
            files.directory('{{ host.data.base }}/{{ host.name }}', recursive=True)
            files.put('files/app.conf', conf)
            files.line(conf, 'extra=1')
            """,
        }
    )
    for run in range(3):
        result = pyinfra("inventory.py", "deploy.py", "--no-wait", cwd=root)
        assert result.returncode == 0, result.output
        for name in HOSTS:
            assert (base / name / "app.conf").read_text() == "listen 80\nextra=1\n", (run, result.output)


def test_no_wait_chain_stops_at_the_first_failure(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('touch {tmp_path}/one')
            server.shell('echo broke >&2; exit 3')
            server.shell('touch {tmp_path}/three')
            """,
        }
    )
    result = pyinfra("127.0.0.2", "deploy.py", "--no-wait", "--debug", cwd=root, env=SHELL)
    assert result.returncode == 1, result.output
    assert (tmp_path / "one").exists() and not (tmp_path / "three").exists()
    assert "exit status 3" in result.output and "broke" in result.output
    assert "Failed: Server/Shell (echo broke >&2; exit 3)" in result.output, result.output
    # No fact to read: the three operations went in one round trip.
    assert round_trips(result.output, "127.0.0.2") == 1, result.output
    assert "Traceback" not in result.output


def test_no_wait_ignored_failure_goes_on(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('touch {tmp_path}/one')
            server.shell('exit 3', ignore_errors=True)
            server.shell('touch {tmp_path}/three')
            """,
        }
    )
    result = pyinfra("127.0.0.2", "deploy.py", "--no-wait", "-v", cwd=root, env=SHELL)
    assert result.returncode == 0, result.output
    assert (tmp_path / "one").exists() and (tmp_path / "three").exists()
    assert "exit status 3" in result.output, result.output


def test_no_wait_runs_each_operation_as_its_own_user(pyinfra_as, deploy_dir, public_dir):
    """Operations run as different users go in different chains, each as its user."""
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('id -un > {public_dir}/login-1')
            server.shell('id -un > {public_dir}/sudo', sudo=True)
            server.shell('id -un > {public_dir}/login-2')
            """,
        }
    )
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", "--no-wait", cwd=root)
    assert result.returncode == 0, result.output
    read = lambda name: (public_dir / name).read_text().strip()  # noqa: E731
    assert (read("login-1"), read("sudo"), read("login-2")) == (users.SUDO, "root", users.SUDO)


def test_a_host_that_cannot_connect_leaves_no_trace_in_the_plan(pyinfra, deploy_dir, tmp_path, sshd):
    """The deploy is built while the hosts connect; a host that then fails to connect
    has no operation of its own, and names none (no variant, no extra operation)."""
    root = deploy_dir(
        {
            "inventory.py": f"""
            HOSTS = [('127.0.0.2', {{'ssh_port': {sshd.port}}}), ('127.0.0.5', {{'ssh_port': 1}})]
            """,
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import files, server
            files.directory('{tmp_path}/' + host.name)
            if host.name == '127.0.0.5':
                server.shell('echo only-on-the-unreachable-host')
            """,
        }
    )
    result = pyinfra("inventory.py", "deploy.py", cwd=root, port=False)
    assert result.returncode == 1, result.output
    assert (tmp_path / "127.0.0.2").is_dir()
    assert "only-on-the-unreachable-host" not in result.output, result.output
    assert "variant" not in result.output, result.output
    assert f"Files/Directory ({tmp_path}/127.0.0.2): 1 changed" in result.output, result.output
    assert "to run the failed hosts again: --limit 127.0.0.5" in result.output


def put_then_lines(deploy_dir, base, conf, lines):
    """An upload of `conf`, then files.line for each of `lines` (its arguments)."""
    calls = "\n".join(f"files.line(conf, {line})" for line in lines)
    return deploy_dir(
        {
            "inventory.py": f"HOSTS = {list(HOSTS)!r}\n",
            "group_data/all.py": f"base = '{base}'\n",
            "files/app.conf": conf,
            "deploy.py": f"""
from pyinfra.modules import files
conf = '{{{{ host.data.base }}}}/{{{{ host.name }}}}/app.conf'
files.directory('{{{{ host.data.base }}}}/{{{{ host.name }}}}')
files.put('files/app.conf', conf)
{calls}
""",
        }
    )


def test_no_wait_line_after_a_change_is_decided_on_the_host(pyinfra, deploy_dir, tmp_path):
    """After the upload, one line is in the file already (case aside, with flags='i'),
    one is not: in the same round trip, the first is left alone and reported unchanged,
    the second is added and reported changed. Every run, as the upload puts the file
    back each time."""
    base = tmp_path / "hosts"
    root = put_then_lines(deploy_dir, base, "listen 80\nMode=fast\n", ["'mode=fast', flags='i'", "'extra=1'"])
    for run in range(2):
        result = pyinfra("inventory.py", "deploy.py", "--no-wait", "--debug", cwd=root, env=SHELL)
        assert result.returncode == 0, result.output
        for name in HOSTS:
            content = (base / name / "app.conf").read_text()
            assert content == "listen 80\nMode=fast\nextra=1\n", (run, result.output)
            # Facts, then every operation: the lines did not wait for a fact read.
            assert round_trips(result.output, name) == 2, (run, result.output)
        # The last line naming each: the results (the plan above says "decided when it runs").
        outcome = {
            text: [line for line in result.output.splitlines() if "Files/Line" in line and text in line][-1]
            for text in ("mode=fast", "extra=1")
        }
        assert outcome["mode=fast"].endswith(": 2 no change"), result.output
        assert outcome["extra=1"].endswith(": 2 changed"), result.output
        assert "__pyinfra_unchanged" not in result.output
        assert "Traceback" not in result.output


def test_no_wait_line_decided_on_the_host_reports_as_json(pyinfra, deploy_dir, tmp_path):
    base = tmp_path / "hosts"
    root = put_then_lines(deploy_dir, base, "listen 80\n", ["'listen 80'", "'extra=1'"])
    result = pyinfra("inventory.py", "deploy.py", "--no-wait", "--json", cwd=root, env=SHELL)
    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    for name in HOSTS:
        lines = [op for op in report["hosts"][name]["operations"] if op["name"].startswith("Files/Line")]
        assert [(op["changed"], op["success"], op["stdout"]) for op in lines] == [
            (False, True, []),
            (True, True, []),
        ], report
    lines = [op for op in report["operations"] if op["name"].startswith("Files/Line")]
    assert [sorted(op["changed_hosts"]) for op in lines] == [[], list(HOSTS)], report


def test_no_wait_line_decided_on_the_host_fails_on_a_file_it_cannot_read(pyinfra_as, deploy_dir, public_dir):
    """A file grep cannot read is a failure with grep's words, not a line appended
    (this one could be written to)."""
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import files
            files.file('{public_dir}/sealed', mode='200')
            files.line('{public_dir}/sealed', 'extra=1')
            """,
        }
    )
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", "--no-wait", cwd=root, env=SHELL)
    assert result.returncode == 1, result.output
    assert "Permission denied" in result.output, result.output
    assert "Failed: Files/Line" in result.output, result.output
    assert (public_dir / "sealed").stat().st_size == 0


def test_no_wait_with_diff_plans_the_dependent_line_to_show_it(pyinfra, deploy_dir, tmp_path):
    """--diff shows what each change does before it runs: the line is then planned
    from the file the upload left (one more round trip), not decided on the host."""
    base = tmp_path / "hosts"
    root = put_then_lines(deploy_dir, base, "listen 80\n", ["'extra=1'"])
    result = pyinfra("inventory.py", "deploy.py", "--no-wait", "--diff", "--debug", cwd=root, env=SHELL)
    assert result.returncode == 0, result.output
    assert "planned now (it depends on an earlier change):" in result.output, result.output
    assert "+extra=1" in result.output, result.output
    for name in HOSTS:
        assert (base / name / "app.conf").read_text() == "listen 80\nextra=1\n"
        # Facts, then the directory and the upload with the line's facts behind them,
        # the file's content for the diff, then the line.
        assert round_trips(result.output, name) == 4, result.output
