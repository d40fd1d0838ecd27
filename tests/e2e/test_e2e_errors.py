"""Bad input gets one clear message naming what to fix, never a traceback, and
nothing runs on any host when the error is found while building."""

import pytest

SIMPLE_INVENTORY = "WEB = ['127.0.0.2', '127.0.0.3']\n"


def run_broken(pyinfra, deploy_dir, tmp_path, files, *extra):
    files = {"inventories/production.py": SIMPLE_INVENTORY, **files}
    root = deploy_dir(files)
    result = pyinfra("inventories/production.py", "deploy.py", *extra, cwd=root)
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize(
    "deploy, expected",
    [
        (
            "from pyinfra.modules import server\nserver.shell('x'\n",
            "deploy.py, line 2: syntax error",
        ),
        (
            "from pyinfra.modules import server\n\nserver.shel('true')\n",
            "deploy.py, line 3: unknown operation server.shel (did you mean: server.shell?)",
        ),
        (
            "from pyinfra.modules import files\nfiles.file('/x', colour='red')\n",
            "deploy.py, line 2: files.file(): got an unexpected keyword argument 'colour'",
        ),
        (
            "from pyinfra.modules import files\nfiles.put('files/none', '/tmp/x')\n",
            "deploy.py, line 2: files.put()",
        ),
        (
            "x = 1\n\n\nraise ValueError('my own bug')\n",
            "deploy.py, line 4: ValueError: my own bug",
        ),
        ("from pyinfra import host\nhost.fact.nosuch_fact\n", "unknown fact: nosuch_fact"),
        (
            "from pyinfra.modules import files\nfiles.file('/x', mode='rwx')\n",
            "deploy.py, line 2: files.file()",
        ),
        (
            "from pyinfra.modules import server\nserver.shell('{{ host.data.x.y }}')\n",
            "deploy.py, line 2: server.shell(): template error",
        ),
    ],
)
def test_deploy_errors_name_file_and_line(pyinfra, deploy_dir, tmp_path, deploy, expected):
    marker = tmp_path / "ran"
    deploy = f"from pyinfra.modules import server as _s\n_s.shell('touch {marker}')\n" + deploy
    # keep the expected line numbers valid: two lines were added on top
    prefix, _, rest = expected.partition("line ")
    if rest:
        number, _, tail = rest.partition(":")
        expected = f"{prefix}line {int(number) + 2}:{tail}" if tail else f"{prefix}line {int(number) + 2}"
    result = run_broken(pyinfra, deploy_dir, tmp_path, {"deploy.py": deploy})
    assert result.returncode == 1, result.output
    assert expected in result.stderr, result.stderr
    assert not marker.exists(), "nothing may run when the deploy cannot be built"


def test_broken_inventory_group_data_and_config(pyinfra, deploy_dir, tmp_path):
    cases = [
        (
            {"inventories/production.py": "WEB = ['a', ('b', 'c')]\n"},
            "inventories/production.py: group WEB: ('b', 'c') is not a host",
        ),
        ({"inventories/production.py": "WEB = [1]\n"}, "group WEB: 1 is not a host"),
        (
            {"inventories/production.py": "WEB = 'a.net'\n"},
            "group WEB is a str, not a list of hosts; write WEB = ['a.net']",
        ),
        ({"inventories/production.py": "WEB = {'a.net': 1}\n"}, "group WEB is a dict, not a list of hosts"),
        (
            {"inventories/production.py": "WEB = [('a', {'ssh_password': 'hunter2'}, 3)]\n"},
            "('a', {'ssh_password': ***}, 3) is not a host",
        ),
        (
            {
                "inventories/production.py": "WEB = [('a', {'ssh_password': 'hunter2'})]\n"
                "DB = [('a', {'ssh_password': 'hunter3'})]\n"
            },
            "host a has conflicting values for 'ssh_password': '***' and '***'",
        ),
        (
            {"inventories/production.py": "import nosuchmodule\nWEB = ['a']\n"},
            "production.py, line 1: ModuleNotFoundError",
        ),
        (
            {"inventories/production.py": "WEB = [('a', {'x': 1})]\nDB = [('a', {'x': 2})]\n"},
            "host a has conflicting values for 'x'",
        ),
        (
            {"inventories/production.py": SIMPLE_INVENTORY, "group_data/all.py": "x = 1/0\n"},
            "all.py, line 1: ZeroDivisionError",
        ),
        (
            {"inventories/production.py": SIMPLE_INVENTORY, "config.py": "TIMEOUT = \n"},
            "config.py, line 1: syntax error",
        ),
    ]
    for files, expected in cases:
        root = deploy_dir({"deploy.py": "\n", **files})
        result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
        assert result.returncode == 1, (files, result.output)
        assert expected in result.stderr, (files, result.stderr)
        assert "Traceback" not in result.output
        assert "hunter" not in result.output
        for name in files:
            (root / name).unlink()


def test_debug_adds_the_traceback(pyinfra, deploy_dir):
    root = deploy_dir(
        {
            "inventories/production.py": SIMPLE_INVENTORY,
            "deploy.py": "raise ValueError('boom')\n",
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", "--debug", cwd=root)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "boom" in result.stderr


def test_local_shell_failure_is_clear(pyinfra, deploy_dir):
    root = deploy_dir(
        {
            "inventories/production.py": SIMPLE_INVENTORY,
            "deploy.py": """
            from pyinfra import hook, local

            @hook.before_connect
            def check(data, state):
                local.shell('echo nope >&2; exit 4')
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
    assert result.returncode == 1
    assert "local command failed (exit status 4): echo nope >&2; exit 4" in result.stderr
    assert "nope" in result.stderr
    assert "Traceback" not in result.output


def test_debug_data_shows_unshowable_values_as_repr(pyinfra, deploy_dir):
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2']\n",
            "group_data/all.py": "import datetime\nwhen = datetime.date(2016, 8, 1)\nodd = {1, 2}\n",
        }
    )
    result = pyinfra("inventories/production.py", "--debug-data", cwd=root, port=False)
    assert result.returncode == 0, result.output
    import json

    data = json.loads(result.stdout)["127.0.0.2"]["data"]
    assert data["when"] == {"value": "datetime.date(2016, 8, 1)", "source": "all"}
    assert sorted(data["odd"]["value"]) == [1, 2]


def test_missing_sudo_is_a_clear_per_host_error(tmp_path, deploy_dir):
    """On @local the same wrapping as over SSH: a PATH without sudo."""
    import os
    import shutil
    import subprocess

    from conftest import pyinfra_command

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "uname", "cat", "stat", "test"):
        found = shutil.which(tool)
        if found:
            os.symlink(found, bin_dir / tool)
    root = deploy_dir(
        {
            "deploy.py": "from pyinfra import host\nfrom pyinfra.modules import server\n"
            "server.shell('echo ' + str(host.fact.home))\n",
        }
    )
    result = subprocess.run(
        pyinfra_command() + ["@local", "deploy.py", "--sudo"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PATH=str(bin_dir), NO_COLOR="1"),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "sudo failed" in output and "sudo: not found" in output, output
    assert "Traceback" not in output
