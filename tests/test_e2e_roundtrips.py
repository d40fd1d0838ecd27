"""Round trips on the wire (issue 15, part 2), through the real command against the test
sshd: how many times a host is written to and answered, counted from `--debug` (one
`one round trip` line per write to the host's shell), and --no-wait sending a host's
operations in chains while keeping each one's results, the stop at the first failure
and the dependent-operations guarantee."""

import pytest

try:
    from tests import users
except ImportError:  # tests/ itself on sys.path
    import users

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
        # --no-wait: the facts, then the four steps up to the file with the line's facts
        # behind them, then the line (made again from those) with the last two.
        (("--no-wait",), 3, 2),
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
