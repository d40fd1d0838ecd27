"""pyinfra 0.1's other documented examples, as 0.1 wrote them (host names and auth
aside), through the real command against the test sshd: the getting-started page, the
CLI usage text, the "deploy process" page and the patterns pages. The guide's own
examples are in tests/test_e2e_guide.py."""

import http.server
import json
import os
import pwd
import re
import subprocess
import sys
import threading

import pytest
from support.users import SUDO, SUDO_PASSWORD

# User names the examples create ("fred", "vivian" in 0.1), made unique to this file.
FRED = "fred-v01"
VIVIAN = "vivian-v01"


@pytest.fixture
def v01_users():
    """Remove the users the getting-started examples make, before and after."""

    def remove():
        for name in (FRED, VIVIAN):
            subprocess.run(["userdel", "-r", name], capture_output=True)

    remove()
    yield
    remove()


def user_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


# -- Getting started -------------------------------------------------------------------


def test_bare_command_prints_the_usage(pyinfra):
    """`$ pyinfra` (and `python -m pyinfra`) shows how to call it, not a traceback."""
    bare = pyinfra(port=False)
    assert bare.returncode == 2
    assert "Usage: pyinfra" in bare.output
    assert "Traceback" not in bare.output
    module = subprocess.run(
        [sys.executable, "-m", "pyinfra", "--help"], capture_output=True, text=True, timeout=60
    )
    assert module.returncode == 0, module.stderr
    assert "--run" in module.stdout and "--fact" in module.stdout and "--debug-data" in module.stdout


def test_getting_started_run_server_user_fred(pyinfra, sshd, tmp_path, test_users, v01_users):
    """`pyinfra -i my-server.host --run server.user fred --sudo  # --user, --key`, logged
    in as an ordinary user; then the same with --password instead of --key."""
    empty_home = tmp_path / "home"
    (empty_home / ".ssh").mkdir(parents=True)
    env = {"HOME": str(empty_home)}  # no default key: only --key or --password can log in
    result = pyinfra(
        "-i",
        "127.0.0.2",
        "--run",
        "server.user",
        FRED,
        "--sudo",
        "--user",
        SUDO,
        "--key",
        sshd.client_key,
        env=env,
    )
    assert result.returncode == 0, result.output
    assert user_exists(FRED)
    assert pwd.getpwnam(FRED).pw_dir == f"/home/{FRED}"

    again = pyinfra(
        "-i",
        "127.0.0.3",
        "--run",
        "server.user",
        FRED,
        "--sudo",
        "--user",
        SUDO,
        "--password",
        SUDO_PASSWORD,
        env=env,
    )
    assert again.returncode == 0, again.output
    assert "0 changed" in again.output
    assert SUDO_PASSWORD not in again.output


def test_getting_started_deploy_file_vivian(pyinfra_as, deploy_dir, v01_users):
    """The deploy file of the getting-started page, `pyinfra -i my-server.host deploy.py`."""
    root = deploy_dir(
        {
            "deploy.py": f"""
            # Import pyinfra modules, each containing operations to use
            from pyinfra.modules import server

            # Ensure the state of a user
            server.user(
                '{VIVIAN}',
                sudo=True
            )
        """
        }
    )
    result = pyinfra_as(SUDO)("-i", "127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert user_exists(VIVIAN)


# -- The CLI usage text ----------------------------------------------------------------


@pytest.fixture
def two_hosts(deploy_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    return deploy_dir(
        {
            "inventory.py": """
            WEB_SERVERS = ['127.0.0.2', '127.0.0.3']
            DB_SERVERS = [('127.0.0.4', {'role': 'db'})]
        """,
            "group_data/all.py": f"out = '{out}'\n",
            "group_data/web_servers.py": "role = 'web'\n",
            "deploy.py": """
            from pyinfra.modules import files, server
            server.shell('echo said-{{ host.name }}')
            files.file('{{ host.data.out }}/{{ host.name }}-{{ host.data.role }}')
        """,
        }
    ), out


def test_usage_deploy_with_verbose_output(pyinfra, two_hosts):
    """`pyinfra -i INVENTORY DEPLOY [-v -vv]`: -v shows what the hosts printed."""
    root, out = two_hosts
    quiet = pyinfra("-i", "inventory.py", "deploy.py", cwd=root)
    assert quiet.returncode == 0, quiet.output
    assert sorted(os.listdir(out)) == ["127.0.0.2-web", "127.0.0.3-web", "127.0.0.4-db"]
    assert "] said-127.0.0.2" not in quiet.output, quiet.output

    verbose = pyinfra("-i", "inventory.py", "deploy.py", "-v", cwd=root)
    assert verbose.returncode == 0, verbose.output
    for name in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        assert f"[{name}] said-{name}" in verbose.output
    # The operation is named as rendered for the first host; commands are for -vv.
    assert "echo said-127.0.0.3" not in verbose.output, verbose.output

    very = pyinfra("-i", "inventory.py", "deploy.py", "-vv", cwd=root)
    assert very.returncode == 0, very.output
    assert "echo said-127.0.0.3" in very.output  # -vv: also the commands sent


def test_usage_run_op_args_and_run_command(pyinfra, two_hosts):
    """`--run OP ARGS` and `--run COMMAND`, with the inventory's hosts."""
    root, out = two_hosts
    op = pyinfra("-i", "inventory.py", "--run", "files.directory", f"{out}/made", cwd=root)
    assert op.returncode == 0, op.output
    assert (out / "made").is_dir()

    command = pyinfra("-i", "inventory.py", "--run", "echo hello from $(echo x)", "-v", cwd=root)
    assert command.returncode == 0, command.output
    assert command.output.count("hello from x") == 3


def test_usage_run_op_args_in_v01_spelling(pyinfra, two_hosts):
    """0.1 read `True`/`False` in ARGS as booleans: `present=False` must remove, not be
    the (true) string "False". 0.1's one-word, comma-separated ARGS (`fred,home=...`)
    is refused with the spelling to use instead (docs/deploys.md, Coming from 0.1)."""
    root, out = two_hosts
    for name in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        (out / f"gone-{name}").mkdir()
    result = pyinfra(
        "-i",
        "inventory.py",
        "--run",
        "files.directory",
        "{{ host.data.out }}/gone-{{ host.name }}",
        "present=False",
        "recursive=True",
        cwd=root,
    )
    assert result.returncode == 0, result.output
    assert not list(out.glob("gone-*"))

    commas = pyinfra("-i", "inventory.py", "--run", "files.directory", f"{out}/made,mode=755", cwd=root)
    assert commas.returncode == 2
    assert f"files.directory {out}/made mode=755" in commas.output
    assert "Traceback" not in commas.output
    assert not list(out.glob("made*"))

    v01_list = pyinfra("-i", "inventory.py", "--run", "server.shell", "[uptime,hostname]", cwd=root)
    assert v01_list.returncode == 2
    assert """write lists as JSON: '["uptime", "hostname"]'""" in v01_list.output
    json_list = pyinfra(
        "-i", "inventory.py", "--run", "server.shell", '["echo one", "echo two"]', "-v", cwd=root
    )
    assert json_list.returncode == 0, json_list.output
    for name in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        assert f"[{name}] one\n" in json_list.output and f"[{name}] two\n" in json_list.output


def test_usage_fact_with_vv(pyinfra, two_hosts):
    """`pyinfra -i INVENTORY --fact FACT [-vv]`: stdout stays the facts' JSON."""
    root, _ = two_hosts
    result = pyinfra("-i", "inventory.py", "--fact", "linux_distribution", "-vv", cwd=root)
    assert result.returncode == 0, result.output
    facts = json.loads(result.stdout)
    assert sorted(facts) == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    assert facts["127.0.0.2"]["name"] == "Debian"  # one fact: {host: value}, as 0.1


def test_usage_debug_data_with_and_without_deploy(pyinfra, deploy_dir, tmp_path):
    """`pyinfra -i INVENTORY [DEPLOY] --debug-data`: no connection is made (the hosts
    here do not even resolve)."""
    root = deploy_dir(
        {
            "inventory.py": "WEB_SERVERS = ['web1.invalid', ('web2.invalid', {'port_override': 8080})]\n",
            "group_data/web_servers.py": "app_port = 80\n",
            "deploy.py": "from pyinfra.modules import server\nserver.shell('true')\n",
        }
    )
    for extra in ((), ("deploy.py",)):
        result = pyinfra("-i", "inventory.py", *extra, "--debug-data", cwd=root, timeout=60)
        assert result.returncode == 0, result.output
        data = json.loads(result.stdout)
        assert data["web1.invalid"]["data"]["app_port"] == {"value": 80, "source": "web_servers"}
        assert data["web2.invalid"]["data"]["port_override"]["source"] == "host"
    override = pyinfra("-i", "inventory.py", "--debug-data", "--data", "use_cache=False", cwd=root)
    assert override.returncode == 0, override.output
    assert json.loads(override.stdout)["web1.invalid"]["data"]["use_cache"]["value"] is False


def test_usage_facts_help_version(pyinfra):
    """`pyinfra (--facts | --help | --version)`."""
    facts = pyinfra("--facts", port=False)
    assert facts.returncode == 0, facts.output
    assert "linux_distribution" in facts.stdout
    help_text = pyinfra("--help", port=False)
    assert help_text.returncode == 0 and "--serial" in help_text.stdout
    version = pyinfra("--version", port=False)
    assert version.returncode == 0 and "pyinfra" in version.stdout


def test_usage_limit_dry_debug_state_debug(pyinfra, two_hosts):
    """--limit (a name, a *wildcard, a group name), --dry, --debug-state, --debug."""
    root, out = two_hosts
    dry = pyinfra("-i", "inventory.py", "deploy.py", "--dry", cwd=root)
    assert dry.returncode == 0, dry.output
    assert os.listdir(out) == []

    state = pyinfra("-i", "inventory.py", "deploy.py", "--debug-state", "--limit", "db_servers", cwd=root)
    assert state.returncode == 0, state.output
    operations = json.loads(state.stdout)["operations"]
    assert [sorted(op["hosts"]) for op in operations] == [["127.0.0.4"], ["127.0.0.4"]]
    assert os.listdir(out) == []

    for limit, made in (
        ("127.0.0.3", ["127.0.0.3-web"]),
        ("127.0.0.[24]", ["127.0.0.2-web", "127.0.0.4-db"]),
        ("*.3", ["127.0.0.3-web"]),
        ("db_servers", ["127.0.0.4-db"]),
    ):
        for name in os.listdir(out):
            os.remove(out / name)
        result = pyinfra("-i", "inventory.py", "deploy.py", "--limit", limit, cwd=root)
        assert result.returncode == 0, result.output
        assert sorted(os.listdir(out)) == made, limit


def test_usage_debug_shows_where_the_deploy_failed(pyinfra, deploy_dir):
    """--debug "prints debug info": for an error in the deploy file, the traceback
    reaches the deploy's own line; without it, one line naming that line."""
    root = deploy_dir(
        {
            "deploy.py": """
            from pyinfra.modules import server

            def app_port(text):
                return int(text)

            server.shell('echo {0}'.format(app_port('eighty')))
        """
        }
    )
    plain = pyinfra("-i", "127.0.0.2", "deploy.py", cwd=root)
    assert plain.returncode == 1
    assert "deploy.py, line 4: ValueError: invalid literal for int()" in plain.output
    assert "Traceback" not in plain.output
    debug = pyinfra("-i", "127.0.0.2", "deploy.py", "--debug", cwd=root)
    assert debug.returncode == 1
    assert "Traceback" in debug.output
    assert 'deploy.py", line 4, in app_port' in debug.output


def test_usage_config_options(pyinfra, public_dir, deploy_dir):
    """--sudo, --sudo-user, --su-user and --parallel NUM, 0.1's config options (the
    SSH ones are in the getting-started test above)."""
    root = deploy_dir(
        {
            "inventory.py": "HOSTS = ['127.0.0.2', '127.0.0.3']\n",
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('whoami > {public_dir}/{{{{ host.name }}}}')
        """,
        }
    )
    for options, expected in (
        (["--sudo"], "root"),
        (["--sudo", "--sudo-user", "nobody"], "nobody"),
        (["--su-user", "nobody"], "nobody"),
        (["--parallel", "1"], "root"),
    ):
        result = pyinfra("-i", "inventory.py", "deploy.py", *options, cwd=root)
        assert result.returncode == 0, (options, result.output)
        for host in ("127.0.0.2", "127.0.0.3"):
            assert (public_dir / host).read_text() == f"{expected}\n", options
            os.remove(public_dir / host)


# -- The deploy process ----------------------------------------------------------------


DEPLOY_PROCESS_INVENTORY = """
HOSTS = [
    ('127.0.0.2', {'delay': 2}),
    ('127.0.0.3', {'delay': 0}),
]
"""


@pytest.mark.parametrize(
    "flags, per_op_serial, expected",
    [
        # By default every host runs an operation, and all of them finish it before the
        # next operation starts: the fast host's first line comes first.
        ((), False, [["127.0.0.3-1", "127.0.0.2-1"], ["127.0.0.2-2", "127.0.0.3-2"]]),
        # --serial: one host after the other, in inventory order, operation by operation.
        (("--serial",), False, [["127.0.0.2-1"], ["127.0.0.3-1"], ["127.0.0.2-2"], ["127.0.0.3-2"]]),
        # --no-wait: the fast host runs its whole deploy without waiting for the slow one.
        (("--no-wait",), False, [["127.0.0.3-1"], ["127.0.0.3-2"], ["127.0.0.2-1"], ["127.0.0.2-2"]]),
        # serial=True on the first operation only: it runs host by host, then the second
        # operation on all hosts at once.
        ((), True, [["127.0.0.2-1"], ["127.0.0.3-1"], ["127.0.0.2-2", "127.0.0.3-2"]]),
    ],
    ids=["wait", "serial", "no-wait", "serial-op"],
)
def test_deploy_process_execution_order(pyinfra, deploy_dir, tmp_path, flags, per_op_serial, expected):
    order = tmp_path / "order"
    root = deploy_dir(
        {
            "inventory.py": DEPLOY_PROCESS_INVENTORY,
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell(
                'sleep {{{{ host.data.delay }}}}; echo {{{{ host.name }}}}-1 >> {order}',
                serial={per_op_serial},
            )
            server.shell('echo {{{{ host.name }}}}-2 >> {order}')
        """,
        }
    )
    result = pyinfra("-i", "inventory.py", "deploy.py", *flags, cwd=root)
    assert result.returncode == 0, result.output
    lines = order.read_text().split()
    # Lines within one bracket may come in any order; the brackets come in this order.
    seen = []
    for bracket in expected:
        chunk, lines = lines[: len(bracket)], lines[len(bracket) :]
        assert sorted(chunk) == sorted(bracket), (flags, per_op_serial, seen, chunk)
        seen.extend(chunk)
    assert lines == []


# -- Patterns: groups & roles ----------------------------------------------------------


def groups_roles_files(out, import_server):
    header = "from pyinfra.modules import server\n" if import_server else ""
    return {
        "inventory.py": """
            # inventory.py

            WEB_SERVERS = ['127.0.0.2', '127.0.0.3', '127.0.0.4']
            DB_SERVERS = ['127.0.0.5', '127.0.0.6', '127.0.0.7']
        """,
        "deploy.py": header
        + f"""
# deploy.py

from pyinfra import local, inventory

# Include the web role, targeted at the web group
local.include(
    'roles/web.py',
    hosts=inventory.web_servers
)

# And the same for the database role & servers
local.include(
    'roles/database.py',
    hosts=inventory.db_servers
)

# This operation runs on all the hosts
server.shell('echo Runs everywhere >> {out}/{{{{ host.name }}}}')
""",
        "roles/web.py": header + f"\nserver.shell('echo install webserver >> {out}/{{{{ host.name }}}}')\n",
        "roles/database.py": header
        + f"\nserver.shell('echo install dbserver >> {out}/{{{{ host.name }}}}')\n",
    }


def test_groups_and_roles(pyinfra, deploy_dir, tmp_path):
    """0.1's example uses `server` in deploy.py and the roles without importing it,
    which 0.1 itself rejected (NameError): that is a clear one-line error naming the
    file and line, and with the import the example works."""
    out = tmp_path / "out"
    out.mkdir()
    root = deploy_dir(groups_roles_files(out, import_server=False))
    as_written = pyinfra("-i", "inventory.py", "deploy.py", cwd=root)
    assert as_written.returncode == 1
    assert "name 'server' is not defined" in as_written.output
    assert "web.py, line 1" in as_written.output or "web.py, line 2" in as_written.output
    assert "Traceback" not in as_written.output
    assert os.listdir(out) == []

    root = deploy_dir(groups_roles_files(out, import_server=True))
    result = pyinfra("-i", "inventory.py", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    for web in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        assert (out / web).read_text() == "install webserver\nRuns everywhere\n"
    for db in ("127.0.0.5", "127.0.0.6", "127.0.0.7"):
        assert (out / db).read_text() == "install dbserver\nRuns everywhere\n"


# -- Patterns: client side assets (hooks in deploy.py) ---------------------------------


CLIENT_ASSETS_DEPLOY = """
# deploy.py

from pyinfra import hook, local

@hook.before_connect
def build_assets(data, state):
    # Check local branch matches the deploy branch
    branch = local.shell('git rev-parse --abbrev-ref HEAD')
    app_branch = data.app_branch

    if branch != app_branch:
        # Raise hook.Error for pyinfra to handle
        raise hook.Error('We\\'re on the wrong branch (want {0}, got {1})!'.format(
            branch, app_branch
        ))

    # Prep for clientside build
    local.shell('npm prune')
    local.shell('npm install')

    # Build the assets (using webpack in this case)
    local.shell('webpack --progress')

# deploy operations...
from pyinfra.modules import server
server.shell('echo deployed {{ host.name }} >> LOG')
"""


def test_client_side_assets_hook(pyinfra, deploy_dir, tmp_path):
    """The hook defined in deploy.py reads local.shell's output (the branch, without its
    newline), raises hook.Error to stop the deploy, and builds before connecting. npm
    and webpack are stand-ins on PATH that log their calls."""
    log = tmp_path / "log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("npm", "webpack"):
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\necho "$(basename "$0") $*" >> {log}\n')
        script.chmod(0o755)
    root = deploy_dir(
        {
            "inventory.py": "WEB_SERVERS = ['127.0.0.2', '127.0.0.3']\n",
            "group_data/all.py": "app_branch = 'release'\n",
            "deploy.py": CLIENT_ASSETS_DEPLOY.replace("LOG", str(log)),
        }
    )
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run(git + ["commit", "-q", "--allow-empty", "-m", "x"], check=True)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}

    wrong = pyinfra("-i", "inventory.py", "deploy.py", cwd=root, env=env)
    assert wrong.returncode == 1
    assert "We're on the wrong branch (want main, got release)!" in wrong.output
    assert "Traceback" not in wrong.output
    assert not log.exists()  # stopped before building, connecting or deploying

    subprocess.run(git + ["checkout", "-q", "-b", "release"], check=True)
    right = pyinfra("-i", "inventory.py", "deploy.py", cwd=root, env=env)
    assert right.returncode == 0, right.output
    lines = log.read_text().splitlines()
    assert lines[:3] == ["npm prune", "npm install", "webpack --progress"]
    assert sorted(lines[3:]) == ["deployed 127.0.0.2", "deployed 127.0.0.3"]


# -- Patterns: dynamic inventories & data ----------------------------------------------


@pytest.fixture
def inventory_api():
    """A local HTTP inventory API, standing in for 0.1's inventory.mycompany.net."""
    servers = [
        {"group": "db", "hostname": "127.0.0.2"},
        {"group": "web", "hostname": "127.0.0.3"},
        {"group": "web", "hostname": "127.0.0.4"},
        {"group": "cache", "hostname": "127.0.0.5"},
    ]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/api/v1/app_servers":
                self.send_error(404)
                return
            body = json.dumps(servers).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


DYNAMIC_INVENTORY = """
# inventory.py

import requests

DB_SERVERS = []
WEB_SERVERS = []

servers = requests.get('URL/api/v1/app_servers').json()

for server in servers:
    if server['group'] == 'db':
        DB_SERVERS.append(server['hostname'])

    elif server['group'] == 'web':
        WEB_SERVERS.append(server['hostname'])
"""


def test_dynamic_inventory(pyinfra, deploy_dir, tmp_path, inventory_api):
    """An inventory that asks an HTTP API for its hosts (with requests, as 0.1 did)."""
    root = deploy_dir(
        {
            "inventory.py": DYNAMIC_INVENTORY.replace("URL", inventory_api),
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import server
            server.shell('echo {{{{ host.groups|sort|join(",") }}}} > {tmp_path}/{{{{ host.name }}}}')
        """,
        }
    )
    data = pyinfra("-i", "inventory.py", "--debug-data", cwd=root)
    assert data.returncode == 0, data.output
    assert sorted(json.loads(data.stdout)) == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]

    result = pyinfra("-i", "inventory.py", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert "db_servers" in (tmp_path / "127.0.0.2").read_text()
    assert "web_servers" in (tmp_path / "127.0.0.3").read_text()
    assert "web_servers" in (tmp_path / "127.0.0.4").read_text()
    assert not (tmp_path / "127.0.0.5").exists()  # the API's "cache" group is not listed


def test_group_data_reads_the_initial_inventory(pyinfra, deploy_dir, tmp_path, inventory_api):
    """`master_db_server = inventory.db_servers[0].name` in group_data/all.py: group data
    can read the inventory's hosts and groups, for --debug-data and for deploys.
    (Issue 16's first point; fixed on another branch at the same time.)"""
    root = deploy_dir(
        {
            "inventory.py": DYNAMIC_INVENTORY.replace("URL", inventory_api),
            "group_data/all.py": """
            # group_data/all.py

            from pyinfra import inventory

            master_db_server = inventory.db_servers[0].name
        """,
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('echo {{{{ host.data.master_db_server }}}} > {tmp_path}/{{{{ host.name }}}}')
        """,
        }
    )
    data = pyinfra("-i", "inventory.py", "--debug-data", cwd=root)
    assert data.returncode == 0, data.output
    hosts = json.loads(data.stdout)
    assert hosts["127.0.0.3"]["data"]["master_db_server"]["value"] == "127.0.0.2"

    result = pyinfra("-i", "inventory.py", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    for name in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        assert (tmp_path / name).read_text() == "127.0.0.2\n"


def test_help_names_every_option_of_the_v01_usage_text(pyinfra):
    """Every long option 0.1's usage text lists is accepted (--enable-pipelining and the
    short -p/-u forms are issue 16's own points)."""
    help_text = pyinfra("--help", port=False).stdout
    options = (
        "--run --fact --limit --serial --no-wait --dry --debug --debug-data --debug-state --port "
        "--user --key --key-password --sudo --sudo-user --su-user --password --parallel --facts "
        "--help --version"
    )
    for option in options.split():
        assert re.search(rf"(?<![\w-]){option}(?![\w-])", help_text), option
