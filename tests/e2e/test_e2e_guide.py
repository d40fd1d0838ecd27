"""Every example of the guide (shared/seed), as written, through the real command
against the test sshd."""

import grp
import os
import pwd
import subprocess

import pytest


@pytest.fixture
def pyinfra_user():
    """The guide creates user/group 'pyinfra' and /var/log/pyinfra.log: clean up."""
    yield
    subprocess.run(["userdel", "-r", "pyinfra"], capture_output=True)
    subprocess.run(["groupdel", "pyinfra"], capture_output=True)
    for path in ("/var/log/pyinfra.log",):
        if os.path.exists(path):
            os.remove(path)


def test_operations_example(pyinfra_as, deploy_dir, pyinfra_user):
    """Logged in as an ordinary user with passwordless sudo, as real deploys are
    (--sudo: the example's server.user needs root too)."""
    pyinfra = pyinfra_as("pyinfra-t-sudo")
    root = deploy_dir(
        {
            "inventories/production.py": """
            APP_SERVERS = [
            '127.0.0.2',
            ]
        """,
            "deploy.py": """
            # deploy.py
            # Import pyinfra modules, each containing operations to use
            from pyinfra.modules import server, files
            # Ensure the state of a user
            server.user(
            'pyinfra',
            home='/home/pyinfra'
            )
            # Ensure the state of files
            files.file(
            '/var/log/pyinfra.log',
            user='pyinfra',
            group='pyinfra',
            permissions='644',
            sudo=True
            )
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", "--sudo", cwd=root)
    assert result.returncode == 0, result.output
    user = pwd.getpwnam("pyinfra")
    assert user.pw_dir == "/home/pyinfra"
    stat = os.stat("/var/log/pyinfra.log")
    assert stat.st_uid == user.pw_uid
    assert grp.getgrgid(stat.st_gid).gr_name == "pyinfra"
    assert oct(stat.st_mode & 0o777) == "0o644"

    again = pyinfra("inventories/production.py", "deploy.py", "--sudo", cwd=root)
    assert again.returncode == 0, again.output
    assert "Success (changed)" not in again.output
    assert "0 changed" in again.output


def test_naming_operations_and_operation_meta(pyinfra, deploy_dir, pyinfra_user, tmp_path):
    marker = tmp_path / "meta-ran"
    root = deploy_dir(
        {
            "inventories/production.py": "APP_SERVERS = ['127.0.0.2']\n",
            "deploy.py": f"""
            from pyinfra.modules import server

            server.user(
            {{'Ensure user pyinfra'}}, # the contents of the set will become the op name
            'pyinfra',
            home='/home/pyinfra'
            )

            # Run an operation, collecting its meta output
            meta = server.user(
            'myuser'
            )
            # If we added a user above, do something extra
            if meta.commands:
                server.shell('touch {marker}')
        """,
        }
    )
    try:
        result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
        assert result.returncode == 0, result.output
        assert "Ensure user pyinfra" in result.output
        assert marker.exists()
        marker.unlink()
        again = pyinfra("inventories/production.py", "deploy.py", cwd=root)
        assert again.returncode == 0, again.output
        assert not marker.exists()  # myuser exists now: meta.commands is empty
    finally:
        subprocess.run(["userdel", "-r", "myuser"], capture_output=True)


def test_data_example_and_string_formatting(pyinfra, deploy_dir, tmp_path):
    """Inventory with host data, group data for all/production/staging, jinja2 args:
    one operation across hosts even though the rendered paths differ."""
    out = tmp_path / "out"
    root = deploy_dir(
        {
            "inventories/production.py": """
            # inventories/production.py
            APP_SERVERS = [
            '127.0.0.2',
            ('127.0.0.3', {'some_key': True})
            ]
        """,
            "inventories/staging.py": "APP_SERVERS = ['127.0.0.4']\n",
            "group_data/all.py": f"""
            # group_data/all.py
            env = 'dev'
            git_repo = 'https://github.com/Fizzadar/pyinfra'
            out = '{out}'
        """,
            "group_data/production.py": """
            # group_data/production.py
            env = 'production'
            git_branch = 'master'
            app_user = 'myuser'
            app_dir = '/opt/myapp'
        """,
            "group_data/staging.py": """
            # group_data/staging.py
            env = 'staging'
            git_branch = 'develop'
        """,
            "deploy.py": """
            from pyinfra import host
            from pyinfra.modules import files, server

            files.directory('{{ host.data.out }}/{{ host.name }}', recursive=True)
            server.shell(
                'echo {{ host.data.env }} {{ host.data.git_branch }}'
                ' {{ host.data.some_key | default(None) }}'
                ' {{ host.data.git_repo }} > {{ host.data.out }}/{{ host.name }}/data'
            )
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", "-v", cwd=root)
    assert result.returncode == 0, result.output
    assert (
        out / "127.0.0.2" / "data"
    ).read_text() == "production master None https://github.com/Fizzadar/pyinfra\n"
    assert (
        out / "127.0.0.3" / "data"
    ).read_text() == "production master True https://github.com/Fizzadar/pyinfra\n"
    # jinja2 arguments: one operation for both hosts
    assert result.output.count("Starting operation: Server/Shell") == 1

    staging = pyinfra("inventories/staging.py", "deploy.py", cwd=root)
    assert staging.returncode == 0, staging.output
    assert (out / "127.0.0.4" / "data").read_text().startswith("staging develop None")


def test_facts_example_switches_on_distribution(pyinfra_as, deploy_dir):
    """The guide's apt/yum switch, made harmless: nano is already present or gets
    installed with apt; either way the branch taken must be apt on Debian."""
    root = deploy_dir(
        {
            "inventories/production.py": "APP_SERVERS = ['127.0.0.2']\n",
            "deploy.py": """
            from pyinfra import host
            from pyinfra.modules import apt, yum
            if host.fact.linux_distribution == 'CentOS':
                yum.packages(
                'nano',
                sudo=True
                )
            else:
                apt.packages(
                'nano',
                sudo=True
                )
        """,
        }
    )
    result = pyinfra_as("pyinfra-t-sudo")("inventories/production.py", "deploy.py", "--dry", cwd=root)
    assert result.returncode == 0, result.output
    assert "Apt/Packages" in result.output
    assert "Yum/Packages" not in result.output


def test_roles_include_limited_to_group(pyinfra, deploy_dir, tmp_path):
    out = tmp_path / "out"
    root = deploy_dir(
        {
            "inventories/production.py": """
            APP_SERVERS = ['127.0.0.2', '127.0.0.3']
            MY_GROUP = ['127.0.0.3']
        """,
            "roles/my_role.py": """
            from pyinfra.modules import files
            files.directory('{{ host.data.out }}/{{ host.name }}/all', recursive=True)
        """,
            "roles/limited_role.py": """
            from pyinfra.modules import files
            files.directory('{{ host.data.out }}/{{ host.name }}/limited', recursive=True)
        """,
            "group_data/all.py": f"out = '{out}'\n",
            "deploy.py": """
            from pyinfra import local, inventory

            # Operations in this file will be added to all hosts
            local.include('roles/my_role.py')

            # Operations in this file will be added to the hosts in group "my_group"
            local.include('roles/limited_role.py', hosts=inventory.my_group)
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert (out / "127.0.0.2" / "all").is_dir()
    assert (out / "127.0.0.3" / "all").is_dir()
    assert (out / "127.0.0.3" / "limited").is_dir()
    assert not (out / "127.0.0.2" / "limited").exists()


def test_config_and_hooks_example(pyinfra, deploy_dir, tmp_path):
    """config.py with TIMEOUT/FAIL_PERCENT and the guide's hook, as written (it uses
    `local` and `HookError` without importing them)."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path / "repo")], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path / "repo"),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ],
        check=True,
    )
    config = """
        # config.py or top of deploy.py

        # SSH connect timeout
        TIMEOUT = 1
        # Fail the entire deploy after 10% of hosts fail
        FAIL_PERCENT = 10

        from pyinfra import hook

        @hook.before_connect
        def my_callback(data, state):
            print('Before connect hook!')

        @hook.before_connect
        def my_callback2(data, state):
            # Check something local is correct, etc
            branch = local.shell('git rev-parse --abbrev-ref HEAD')
            app_branch = data.app_branch
            if branch != app_branch:
                # Raise HookError for pyinfra to handle
                raise HookError('We\\'re on the wrong branch (want {0}, got {1})!'.format(
                    branch, app_branch
                ))
    """
    root = deploy_dir(
        {
            "inventories/production.py": "APP_SERVERS = ['127.0.0.2']\n",
            "config.py": config,
            "group_data/all.py": "app_branch = 'main'\n",
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('touch {tmp_path}/deployed')
        """,
        }
    )
    repo = tmp_path / "repo"
    result = pyinfra(root / "inventories/production.py", root / "deploy.py", cwd=repo)
    assert result.returncode == 0, result.output
    assert "Before connect hook!" in result.output
    assert (tmp_path / "deployed").exists()
    (tmp_path / "deployed").unlink()

    wrong = pyinfra(
        root / "inventories/production.py",
        root / "deploy.py",
        "--data",
        "app_branch=develop",
        cwd=repo,
    )
    assert wrong.returncode == 1
    assert "We're on the wrong branch (want main, got develop)!" in wrong.output
    assert "Traceback" not in wrong.output
    assert not (tmp_path / "deployed").exists()
