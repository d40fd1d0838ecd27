"""Inventory shapes and the README's first command."""

import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def debug_data(pyinfra, root, *args):
    result = pyinfra(*args, "--debug-data", cwd=root, port=False)
    assert result.returncode == 0, result.output
    return json.loads(result.stdout)


def test_groups_all_and_inventory_named_group(pyinfra, deploy_dir):
    root = deploy_dir(
        {
            "inventories/production.py": """
            import os
            APP_SERVERS = ['a.net', ('b.net', {'some_key': True})]
            DB_SERVERS = ('b.net', 'c.net')
            lower_case = ['ignored.net']
            _PRIVATE = ['hidden.net']
        """,
            "deploy.py": "\n",
        }
    )
    data = debug_data(pyinfra, root, "inventories/production.py", "deploy.py")
    assert list(data) == ["a.net", "b.net", "c.net"]
    assert data["b.net"]["groups"] == ["app_servers", "db_servers", "all", "production"]
    assert data["b.net"]["data"]["some_key"] == {"value": True, "source": "host"}

    (root / "inventories/production.py").write_text(
        "WEB = ['a.net', 'b.net']\nALL = ['a.net']\nPRODUCTION = ['b.net']\n"
    )
    data = debug_data(pyinfra, root, "inventories/production.py", "deploy.py")
    assert data["a.net"]["groups"] == ["web", "all"]
    assert data["b.net"]["groups"] == ["web", "production"]


def test_inventory_iteration_and_get_group_in_deploy(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2', '127.0.0.3']\nDB = ['127.0.0.3']\n",
            "deploy.py": f"""
            from pyinfra import host, inventory
            from pyinfra.modules import server
            names = ','.join(h.name for h in inventory)
            db = ','.join(h.name for h in inventory.get_group('db'))
            web = ','.join(h.name for h in inventory.web)
            in_db = host in inventory.db
            server.shell('echo ' + names + ' ' + db + ' ' + web + ' ' + str(in_db)
                         + ' > {tmp_path}/{{{{ host.name }}}}')
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    expected = "127.0.0.2,127.0.0.3 127.0.0.3 127.0.0.2,127.0.0.3"
    assert (tmp_path / "127.0.0.2").read_text() == expected + " False\n"
    assert (tmp_path / "127.0.0.3").read_text() == expected + " True\n"


def test_comma_separated_hosts_and_verbose_output(pyinfra, deploy_dir):
    root = deploy_dir(
        {
            "deploy.py": """
            from pyinfra.modules import server
            server.shell('echo out-{{ host.name }}; echo err-{{ host.name }} >&2')
        """,
        }
    )
    quiet = pyinfra("127.0.0.2,127.0.0.3", "deploy.py", cwd=root)
    assert quiet.returncode == 0, quiet.output
    assert "] out-127.0.0.2" not in quiet.output, quiet.output
    loud = pyinfra("127.0.0.2,127.0.0.3", "deploy.py", "-v", cwd=root)
    assert loud.returncode == 0, loud.output
    assert "[127.0.0.2] out-127.0.0.2" in loud.stdout
    assert "[127.0.0.3] err-127.0.0.3" in loud.stderr


def test_facts_read_under_sudo_are_read_with_sudo(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import server
            SUDO = True
            SUDO_USER = 'nobody'
            server.shell('echo ' + host.fact.home + ' > {tmp_path}/home', sudo=False)
        """,
        }
    )
    result = pyinfra("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert (tmp_path / "home").read_text() == "/nonexistent\n"


def test_python_dash_m_version_and_zero_one_form(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2']\n",
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('touch {tmp_path}/ran')
        """,
        }
    )
    version = subprocess.run([sys.executable, "-m", "pyinfra", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "pyinfra, version" in version.stdout
    result = pyinfra("-i", "inventories/production.py", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert (tmp_path / "ran").exists()


def test_readme_first_command_runs_the_example_on_local(tmp_path):
    """The README's first command, as written (the install part is done already)."""
    readme = open(os.path.join(ROOT, "README.md")).read()
    first = readme.split("```sh\n", 1)[1].split("\n", 1)[0]
    assert first.startswith("pip install -e . && cd examples && ")
    command = first.split(" && ", 1)[1]
    shutil.rmtree("/tmp/pyinfra-example", ignore_errors=True)
    env = dict(os.environ, NO_COLOR="1")
    run = lambda: subprocess.run(
        command,
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,  # noqa: E731
        env=env,
    )
    first_run = run()
    assert first_run.returncode == 0, first_run.stdout + first_run.stderr
    assert os.path.isfile("/tmp/pyinfra-example/etc/app.conf")
    assert "1 host(s) succeeded, 0 failed: 8 operations, 8 changed" in first_run.stdout
    second = run()
    assert second.returncode == 0, second.stdout + second.stderr
    nothing = r"1 host\(s\) succeeded, 0 failed: [0-9]+ operations, 0 changed"
    assert re.search(nothing, second.stdout), second.stdout
    shutil.rmtree("/tmp/pyinfra-example", ignore_errors=True)
