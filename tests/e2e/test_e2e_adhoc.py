"""Ad-hoc runs and inspection (--run, --fact, --facts, --debug-data, --debug-state)
through the installed command against the test sshd."""

import json
import pwd
import subprocess

import pytest

from pyinfra.api.facts import FACTS, load_all_facts

INVENTORY = """
APP_SERVERS = ['127.0.0.2', ('127.0.0.3', {'role': 'primary'})]
DB_SERVERS = ['127.0.0.4']
"""


@pytest.fixture
def inventory_dir(deploy_dir):
    return deploy_dir({"inventories/production.py": INVENTORY})


def test_run_shows_each_hosts_output_unless_quiet(pyinfra, inventory_dir):
    """--run shows what each host printed by default, after its name (pyinfra 3's exec,
    Ansible's ad-hoc mode); -q hides it."""
    result = pyinfra(
        "inventories/production.py", "--run", "echo hello from $(hostname) >&1", cwd=inventory_dir
    )
    assert result.returncode == 0, result.output
    for name in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        assert f"[{name}] hello from" in result.stdout
    errors = pyinfra("inventories/production.py", "--run", "echo to-stderr >&2", cwd=inventory_dir)
    assert "[127.0.0.2] to-stderr" in errors.stderr and "to-stderr" not in errors.stdout.replace(
        "echo to-stderr", ""
    )
    quiet = pyinfra("inventories/production.py", "--run", "echo hidden", "-q", cwd=inventory_dir)
    assert quiet.returncode == 0 and "hidden" not in quiet.output.replace("echo hidden", "")
    both = pyinfra("inventories/production.py", "--run", "echo hidden", "-q", "-v", cwd=inventory_dir)
    assert both.returncode == 2 and "-q hides the output that -v shows" in both.stderr


def test_run_operation_with_json_arguments(pyinfra, inventory_dir):
    try:
        result = pyinfra(
            "inventories/production.py",
            "--limit",
            "127.0.0.2",
            "--run",
            "server.user",
            "pyinfra-adhoc",
            "home=/home/pyinfra-adhoc",
            'groups=["adm"]',
            "ensure_home=false",
            cwd=inventory_dir,
        )
        assert result.returncode == 0, result.output
        user = pwd.getpwnam("pyinfra-adhoc")
        assert user.pw_dir == "/home/pyinfra-adhoc"
        groups = subprocess.run(["id", "-nG", "pyinfra-adhoc"], capture_output=True, text=True)
        assert "adm" in groups.stdout.split()
    finally:
        subprocess.run(["userdel", "-r", "pyinfra-adhoc"], capture_output=True)


def test_fact_json_on_stdout(pyinfra, inventory_dir):
    result = pyinfra(
        "inventories/production.py",
        "--fact",
        "linux_distribution",
        "--fact",
        "file:/etc/hosts",
        "--fact",
        "os",
        cwd=inventory_dir,
    )
    assert result.returncode == 0, result.output
    facts = json.loads(result.stdout)  # stdout is the JSON and nothing else
    assert sorted(facts) == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    host = facts["127.0.0.2"]
    assert host["os"] == "Linux"
    assert host["linux_distribution"]["name"] in ("Debian", "Ubuntu")
    if host["linux_distribution"]["name"] == "Debian":
        # The point release (12.11) is in /etc/debian_version, not in os-release.
        with open("/etc/debian_version") as handle:
            major, minor = handle.read().strip().split(".")[:2]
        release = host["linux_distribution"]
        assert (release["major"], release["minor"]) == (int(major), int(minor)), release
    assert host["file:/etc/hosts"]["user"] == "root"


def test_fact_with_limit_config_and_unreachable_host(pyinfra, deploy_dir, sshd):
    root = deploy_dir(
        {
            "inventories/production.py": f"""
            WEB = [('127.0.0.2', {{'ssh_port': {sshd.port}}}),
                   ('127.0.0.3', {{'ssh_port': {sshd.port}}}),
                   ('127.0.0.9', {{'ssh_port': 1}})]
        """,
            "config.py": "TIMEOUT = 2\nSUDO = True\nSUDO_USER = 'nobody'\n",
        }
    )
    result = pyinfra("inventories/production.py", "--fact", "home", cwd=root, port=False)
    assert result.returncode == 1
    facts = json.loads(result.stdout)
    # One fact: {host: value}, as 0.1; a host without an answer has {"error": why}.
    assert facts["127.0.0.2"] == "/nonexistent"  # config.py's sudo applies
    assert "refused" in facts["127.0.0.9"]["error"].lower()
    limited = pyinfra(
        "inventories/production.py", "--fact", "os", "--limit", "127.0.0.3", cwd=root, port=False
    )
    assert limited.returncode == 0, limited.output
    assert json.loads(limited.stdout) == {"127.0.0.3": "Linux"}


def test_facts_lists_every_fact():
    result = subprocess.run(["pyinfra", "--facts"], capture_output=True, text=True)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert any(line.startswith("file(name)") for line in lines)
    assert any(line.startswith("linux_distribution ") for line in lines)
    load_all_facts()
    listed = {line.split()[0].split("(")[0] for line in lines if line.strip()}
    assert set(FACTS) <= listed, sorted(set(FACTS) - listed)


def test_debug_data_shows_layers_without_connecting(pyinfra, deploy_dir):
    root = deploy_dir(
        {
            "inventories/production.py": INVENTORY.replace("127.0.0", "127.9.9"),
            "group_data/all.py": "env = 'dev'\nssh_password = 'hunter2'\nlevel = 'all'\n",
            "group_data/app_servers.py": "level = 'app'\n",
            "deploy.py": "\n",
        }
    )
    result = pyinfra(
        "inventories/production.py", "deploy.py", "--debug-data", "--data", "flag=true", cwd=root, port=False
    )
    assert result.returncode == 0, result.output
    data = json.loads(result.stdout)
    host = data["127.9.9.3"]
    assert host["groups"] == ["app_servers", "all", "production"]
    assert host["data"]["level"] == {"value": "app", "source": "app_servers"}
    assert host["data"]["role"] == {"value": "primary", "source": "host"}
    assert host["data"]["env"] == {"value": "dev", "source": "all"}
    assert host["data"]["flag"] == {"value": True, "source": "override"}
    assert host["data"]["ssh_password"]["value"] == "***"
    assert "hunter2" not in result.output
    assert data["127.9.9.4"]["data"]["level"]["source"] == "all"


def test_debug_state_prints_operations_without_running(pyinfra, deploy_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    root = deploy_dir(
        {
            "inventories/production.py": INVENTORY,
            "deploy.py": f"""
            from pyinfra.modules import files, server
            files.directory('{out}/{{{{ host.name }}}}')
            server.shell({{'Say hi'}}, 'echo hi', sudo=True)
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", "--debug-state", cwd=root)
    assert result.returncode == 0, result.output
    state = json.loads(result.stdout)
    ops = state["operations"]
    assert [op["name"] for op in ops][1] == "Say hi"
    (made,) = ops[0]["hosts"]["127.0.0.3"]
    assert made.startswith(f"mkdir -p {out}/127.0.0.3 && "), made  # then: refuse a planted link
    assert ops[1]["global_arguments"]["sudo"] is True
    assert not list(out.iterdir())


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--run", "nosuch.op"], 2, "unknown module: nosuch"),
        (["--run", "server.shel", "x"], 2, "unknown operation: server.shel (did you mean: server.shell?)"),
        (["--run", "server.user"], 2, "server.user(): missing a required argument: 'name'"),
        (["--run", "server.user", "x", "colour=red"], 2, "unexpected keyword argument 'colour'"),
        (
            ["--fact", "linux_distributon"],
            2,
            "unknown fact: linux_distributon (did you mean: linux_distribution",
        ),
        (["--fact", "file"], 2, "fact file takes 1 argument(s): write --fact file:name"),
        (["--fact", "os:x"], 2, "fact os takes 0 argument(s)"),
        (["--fact", "os", "--limit", "nomatch"], 2, "--limit nomatch matches no host"),
    ],
)
def test_bad_input_is_one_clear_line(pyinfra, inventory_dir, args, code, message):
    result = pyinfra("inventories/production.py", *args, cwd=inventory_dir)
    assert result.returncode == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == "" or not result.stdout.lstrip().startswith("{")
