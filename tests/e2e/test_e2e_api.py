"""pyinfra 0.1's API mode: Python programs driving deploys through pyinfra.api (no
CLI), run as real processes against the test sshd."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]

PRELUDE = """
import os, sys, json
{patch}
from pyinfra.api import Config, Inventory, State, DeployError
from pyinfra.api.facts import get_facts
from pyinfra.api.operation import add_op, add_limited_op
from pyinfra.api.operations import run_ops
from pyinfra.api.ssh import connect_all
from pyinfra.modules import files, server

PORT = int(os.environ["EXAMPLE_SSH_PORT"])
KEY = os.environ["EXAMPLE_SSH_KEY"]
OUT = os.environ["EXAMPLE_APP_DIR"]

def make_state(names={hosts!r}, config=None, **groups):
    inventory = Inventory(
        (list(names), {{"out": OUT}}), ssh_user="root", ssh_port=PORT, ssh_key=KEY, **groups
    )
    return State(inventory, config or Config())

def show(meta):
    return {{
        name: {{
            "changed": op.changed,
            "success": op.success,
            "attempts": op.attempts,
            "commands": [str(c) for c in op.commands],
            "results": [[r.exit_code, list(r.stdout), list(r.stderr)] for r in op.results],
        }}
        for name, op in meta.items()
    }}
"""


@pytest.fixture
def api_run(sshd, ssh_home, tmp_path):
    """api_run(code, patch=True) runs `code` (after PRELUDE) as a Python program;
    returns the CompletedProcess, its stdout's last line read as JSON in .data."""
    out = tmp_path / "out"
    out.mkdir()

    def run(code, patch=True, env=None, script=None):
        path = script
        if path is None:
            path = tmp_path / "program.py"
            patch_line = "from gevent import monkey; monkey.patch_all()" if patch else ""
            path.write_text(PRELUDE.format(patch=patch_line, hosts=HOSTS) + textwrap.dedent(code))
        environment = dict(
            os.environ,
            HOME=str(ssh_home),
            EXAMPLE_HOSTS=",".join(HOSTS),
            EXAMPLE_SSH_USER="root",
            EXAMPLE_SSH_PORT=str(sshd.port),
            EXAMPLE_SSH_KEY=str(sshd.client_key),
            EXAMPLE_APP_DIR=str(out),
        )
        environment.pop("SSH_AUTH_SOCK", None)
        environment.update(env or {})
        result = subprocess.run(
            [sys.executable, str(path)], env=environment, capture_output=True, text=True, timeout=180
        )
        result.output = result.stdout + result.stderr
        lines = result.stdout.strip().splitlines()
        try:
            result.data = json.loads(lines[-1]) if lines else None
        except ValueError:
            result.data = None
        return result

    run.out = out
    return run


def test_the_api_example_runs_as_written(api_run):
    example = os.path.join(REPO, "examples", "api_deploy.py")
    result = api_run(None, script=example)
    assert result.returncode == 0, result.output
    out = api_run.out
    for host in HOSTS:
        assert (out / host).is_dir()
        assert (out / host / "motd").read_text() == open(
            os.path.join(REPO, "examples", "files", "motd")
        ).read()
        assert oct((out / host).stat().st_mode & 0o777) == "0o755"
    # add_limited_op: the db group only
    assert (out / HOSTS[2] / "db.marker").exists()
    assert not (out / HOSTS[0] / "db.marker").exists()
    # the meta add_op returned: per host, stdout of its command (host data resolved)
    assert "127.0.0.2 success ['hello from " in result.stdout
    assert "127.0.0.3 success ['hello from web2 from " in result.stdout
    # get_facts: {host name: value}, as JSON
    facts = json.loads(result.stdout[result.stdout.index("{") :])
    assert facts == {host: "Linux" for host in HOSTS}
    # 0.1's logging at INFO shows progress
    assert "INFO:pyinfra:Starting operation: Ensure the db marker exists" in result.stderr
    # patched: no warning about serial connections
    assert "not monkey-patched" not in result.output


def test_add_op_returns_each_hosts_results(api_run):
    result = api_run(
        """
        state = make_state()
        connect_all(state)
        ok = add_op(state, server.shell, ["echo out-{{ host.name }}", "echo err >&2"])
        failing = add_limited_op(state, server.shell, state.inventory["127.0.0.3"], "echo before; exit 3")
        after = add_op(state, server.shell, "echo after")
        ignored = add_op(state, server.shell, "exit 4", ignore_errors=True)
        before_run = show(ok)
        run_ops(state)
        print(json.dumps({"before": before_run, "ok": show(ok), "failing": show(failing),
                          "after": show(after), "ignored": show(ignored),
                          "failed": [h.name for h in state.failed_hosts()]}))
        """
    )
    assert result.returncode == 0, result.output
    data = result.data
    # add_op: every host, its commands and changed known before the run
    assert sorted(data["before"]) == HOSTS
    assert data["before"]["127.0.0.2"]["commands"] == ["echo out-127.0.0.2", "echo err >&2"]
    assert data["before"]["127.0.0.2"]["changed"] is True
    assert data["before"]["127.0.0.2"]["success"] is False  # not run yet
    # after the run: exit status, stdout, stderr of each command
    ok = data["ok"]["127.0.0.4"]
    assert ok["success"] is True and ok["attempts"] == 1
    assert ok["results"] == [[0, ["out-127.0.0.4"], []], [0, [], ["err"]]]
    # add_limited_op: one Host; the failure is kept, the host stopped
    assert list(data["failing"]) == ["127.0.0.3"]
    failing = data["failing"]["127.0.0.3"]
    assert failing["success"] is False
    assert failing["results"] == [[3, ["before"], []]]
    assert data["failed"] == ["127.0.0.3"]
    assert data["after"]["127.0.0.3"]["success"] is False
    assert data["after"]["127.0.0.3"]["results"] == []
    assert data["after"]["127.0.0.2"]["results"] == [[0, ["after"], []]]
    # ignore_errors: not a success, the result kept, the host goes on
    assert data["ignored"]["127.0.0.2"]["success"] is False
    assert data["ignored"]["127.0.0.2"]["results"] == [[4, [], []]]


def test_retries_are_counted_and_the_last_attempt_kept(api_run):
    result = api_run(
        """
        state = make_state(names=["127.0.0.2"])
        connect_all(state)
        flaky = add_op(state, server.shell,
                       "n=$(cat {{ host.data.out }}/n 2>/dev/null || echo 0); n=$((n+1));"
                       " echo $n > {{ host.data.out }}/n; echo try $n; [ $n -ge 3 ]",
                       retries=3, retry_delay=0)
        run_ops(state)
        print(json.dumps(show(flaky)))
        """
    )
    assert result.returncode == 0, result.output
    op = result.data["127.0.0.2"]
    assert op["attempts"] == 3 and op["success"] is True
    assert op["results"] == [[0, ["try 3"], []]]


def test_add_limited_op_takes_a_group_and_leaves_the_others_untouched(api_run):
    result = api_run(
        """
        db = (["127.0.0.3", ("127.0.0.4", {"tag": "own"})], {"tag": "db"})
        state = make_state(names=["127.0.0.2"], db=db)
        connect_all(state)
        inventory = state.inventory
        made = add_limited_op(state, files.file, inventory.db, {"Mark db hosts"},
                              "{{ host.data.out }}/{{ host.name }}-{{ host.data.tag }}")
        run_ops(state)
        print(json.dumps({"meta": sorted(made), "groups": [h.name for h in inventory.db],
                          "all": sorted(h.name for h in inventory)}))
        """
    )
    assert result.returncode == 0, result.output
    assert result.data["meta"] == ["127.0.0.3", "127.0.0.4"]
    # a host named only in a group is a host of the inventory too
    assert result.data["all"] == HOSTS
    assert sorted(os.listdir(api_run.out)) == ["127.0.0.3-db", "127.0.0.4-own"]


def test_get_facts_with_arguments_and_sudo_user(api_run, test_users):
    result = api_run(
        """
        state = make_state(names=["127.0.0.2", "127.0.0.3"])
        connect_all(state)
        whoami = get_facts(state, "command", args=["whoami"])
        as_user = get_facts(state, "command", args=["whoami"], sudo=True, sudo_user="nobody")
        try:
            get_facts(state, "no_such_fact")
        except Exception as error:
            unknown = f"{type(error).__name__}: {error}"
        print(json.dumps({"whoami": whoami, "as_user": as_user, "unknown": unknown}))
        """
    )
    assert result.returncode == 0, result.output
    assert result.data["whoami"] == {"127.0.0.2": "root", "127.0.0.3": "root"}
    assert result.data["as_user"] == {"127.0.0.2": "nobody", "127.0.0.3": "nobody"}
    assert result.data["unknown"].startswith("FactError: unknown fact: no_such_fact")


def test_unpatched_runs_correctly_and_warns_once(api_run):
    result = api_run(
        """
        state = make_state()
        connect_all(state)
        made = add_op(state, server.shell, "sleep 0.3; echo {{ host.name }}")
        run_ops(state)
        second = State(state.inventory, Config())
        connect_all(second)
        print(json.dumps({name: op.results[0].stdout for name, op in made.items()}))
        """,
        patch=False,
    )
    assert result.returncode == 0, result.output
    assert result.data == {host: [host] for host in HOSTS}
    assert result.stderr.count("gevent is not monkey-patched: hosts are connected one at a time") == 1


def test_fail_percent_stops_run_ops_with_deploy_error(api_run):
    result = api_run(
        """
        state = make_state(config=Config(FAIL_PERCENT=40))
        connect_all(state)
        two = [state.inventory["127.0.0.2"], state.inventory["127.0.0.3"]]
        add_limited_op(state, server.shell, two, "exit 1")
        after = add_op(state, server.shell, "echo after")
        try:
            run_ops(state)
        except DeployError as error:
            stopped = str(error)
        print(json.dumps({"stopped": stopped, "after": show(after)}))
        """
    )
    assert result.returncode == 0, result.output
    assert result.data["stopped"] == "too many hosts failed (FAIL_PERCENT): the deploy stopped"
    assert result.data["after"]["127.0.0.4"]["results"] == []


def test_connect_all_fails_unreachable_hosts_and_fail_percent(api_run, hang_port):
    result = api_run(
        f"""
        # ssh_port= is an override: a port per host goes into its own data instead
        names = [("127.0.0.2", {{"ssh_port": PORT}}),
                 ("dead", {{"ssh_hostname": "127.0.0.1", "ssh_port": {hang_port}}})]
        state = State(Inventory((names, {{}}), ssh_user="root", ssh_key=KEY), Config(TIMEOUT=1))
        connect_all(state)
        errors = {{h.name: state.results[h].error for h in state.failed_hosts()}}
        strict = State(Inventory((names, {{}}), ssh_user="root", ssh_key=KEY),
                       Config(TIMEOUT=1, FAIL_PERCENT=10))
        try:
            connect_all(strict)
        except DeployError as error:
            stopped = str(error)
        active = [h.name for h in state.active_hosts()]
        print(json.dumps({{"active": active, "errors": errors, "stopped": stopped}}))
        """
    )
    assert result.returncode == 0, result.output
    assert result.data["active"] == ["127.0.0.2"]
    assert "no SSH answer within 1s" in result.data["errors"]["dead"]
    assert result.data["stopped"] == "too many hosts failed to connect (FAIL_PERCENT), stopping"


# -- one engine: hooks per State, identity from call sites, facts of one's own ------------


def test_hooks_belong_to_their_state(api_run):
    result = api_run(
        """
        calls = []

        def hook(name):
            return lambda data, state: calls.append((name, state.label, data.out == OUT))

        first = make_state(names=["127.0.0.2"])
        first.label = "first"
        for name in ("after_deploy", "before_deploy", "before_facts", "before_connect"):
            first.add_hook(name, hook(name))
        second = make_state(names=["127.0.0.3"])
        second.label = "second"
        second.add_hook("before_connect", hook("before_connect"))
        connect_all(first)
        connect_all(second)
        add_op(first, server.shell, "true")
        run_ops(first)
        run_ops(second)
        print(json.dumps(calls))
        """
    )
    assert result.returncode == 0, result.output
    assert result.data == [
        ["before_connect", "first", True],
        ["before_facts", "first", True],
        ["before_connect", "second", True],
        ["before_deploy", "first", True],
        ["after_deploy", "first", True],
    ]


def test_a_hook_error_stops_the_api_run(api_run):
    result = api_run(
        """
        from pyinfra.api.exceptions import HookError
        state = make_state(names=["127.0.0.2"])
        def refuse(data, state):
            raise HookError("not on a Friday")
        state.add_hook("before_deploy", refuse)
        connect_all(state)
        made = add_op(state, files.file, "{{ host.data.out }}/never")
        try:
            run_ops(state)
        except HookError as error:
            print(json.dumps({"error": str(error), "status": made["127.0.0.2"].status}))
        """
    )
    assert result.returncode == 0, result.output
    assert result.data == {"error": "not on a Friday", "status": None}
    assert os.listdir(api_run.out) == []


def test_an_operations_identity_is_its_call_site(api_run):
    result = api_run(
        """
        state = make_state(names=["127.0.0.2", "127.0.0.3"])
        connect_all(state)

        def mark(name):
            return add_op(state, server.shell, "echo " + name + " >> {{ host.data.out }}/{{ host.name }}")

        mark("a")                      # two call sites of one helper: two operations
        for item in ("b", "c"):        # one call site in a loop: its n-th call, n-th operation
            mark(item)
        mark("d")
        # per-host arguments from one call site stay one operation
        add_op(state, server.shell, "echo e-{{ host.name }} >> {{ host.data.out }}/{{ host.name }}")
        run_ops(state)
        locations = sorted({state.op_meta[key].location.split(", line")[0] for key in state.op_order})
        print(json.dumps({"count": len(state.op_order), "locations": locations}))
        """
    )
    assert result.returncode == 0, result.output
    assert result.data["count"] == 5
    assert result.data["locations"] == [str(api_run.out.parent / "program.py")]
    for host in ("127.0.0.2", "127.0.0.3"):
        assert (api_run.out / host).read_text().split() == ["a", "b", "c", "d", f"e-{host}"]


def test_a_deploys_fact_cannot_replace_a_built_in_one_silently(pyinfra, deploy_dir):
    root = deploy_dir(
        {
            "deploy.py": """
            from pyinfra import host
            from pyinfra.api import FactBase
            from pyinfra.modules import server

            class Os(FactBase):
                command = 'echo mine'

            server.shell('echo {{ host.fact.os }}')
        """
        }
    )
    result = pyinfra("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode != 0, result.output
    assert "deploy.py, line 5: fact os is already defined (pyinfra.facts.server.Os)" in result.output
    assert "set override = True" in result.output
    assert "Traceback" not in result.output

    (root / "deploy.py").write_text(
        (root / "deploy.py")
        .read_text()
        .replace("command = 'echo mine'", "override = True\n    command = 'echo mine'")
    )
    result = pyinfra("127.0.0.2", "deploy.py", "-v", cwd=root)
    assert result.returncode == 0, result.output
    assert "[127.0.0.2] mine" in result.output


def test_a_deploys_own_fact_is_read_on_every_host(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.api import FactBase
            from pyinfra.modules import server

            class Greeting(FactBase):
                command = 'echo hi-from-$(hostname)'

            server.shell('echo {{{{ host.fact.greeting }}}} > {tmp_path}/{{{{ host.name }}}}')
        """
        }
    )
    result = pyinfra("127.0.0.2,127.0.0.3", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert (tmp_path / "127.0.0.3").read_text().startswith("hi-from-")
