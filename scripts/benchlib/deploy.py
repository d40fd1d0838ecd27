"""The 7-step deploy the bench runs, written out for each tool, and its shell twin.

Steps (each host works in its own tree ``BASE + host name``):

1. directory   2. put app.conf   3. template motd   4. file log (mode 600)
5. line "started" in log   6. link current -> app.conf   7. shell: uptime > uptime

``floor_script`` is the same work as one POSIX shell script, for the one-session
floor: a single exec per host.
"""

import os
import shlex

# Where the hosts' trees go (BENCH_BASE: two benches at once must not share it).
BASE = os.environ.get("BENCH_BASE", "/tmp/pyinfra-bench/")
MESSAGE = "This host is managed by the pyinfra bench."

APP_CONF = "".join(
    "setting_{0:02d} = value {0} for the bench application\n".format(number) for number in range(40)
)

# The pyinfra (0.1 and 3) template; Ansible's names the host differently.
MOTD_TEMPLATE = "Welcome to {{ host.name }}\n{{ message }}\n"
MOTD_TEMPLATE_ANSIBLE = "Welcome to {{ inventory_hostname }}\n{{ message }}\n"

DEPLOY_PY = """\
# The bench's 7-step deploy (pyinfra 0.1 API), one directory tree per host.
from pyinfra import host
from pyinfra.modules import files, server

files.directory('{{ host.data.base }}{{ host.name }}', recursive=True)

files.put('files/app.conf', '{{ host.data.base }}{{ host.name }}/app.conf')

files.template(
    'templates/motd.jn2',
    '{{ host.data.base }}{{ host.name }}/motd',
    message=host.data.message,
)

files.file('{{ host.data.base }}{{ host.name }}/log', mode='600')

files.line('{{ host.data.base }}{{ host.name }}/log', 'started')

files.link(
    '{{ host.data.base }}{{ host.name }}/current',
    target='{{ host.data.base }}{{ host.name }}/app.conf',
)

server.shell('uptime > {{ host.data.base }}{{ host.name }}/uptime')
"""

DEPLOY_PY_V3 = """\
# The bench's 7-step deploy for pyinfra 3 (no jinja2 in arguments there).
from pyinfra import host
from pyinfra.operations import files, server

tree = host.data.base + host.name

files.directory(path=tree, recursive=True)
files.put(src='files/app.conf', dest=tree + '/app.conf')
files.template(src='templates/motd.jn2', dest=tree + '/motd', message=host.data.message)
files.file(path=tree + '/log', mode='600')
files.line(path=tree + '/log', line='started')
files.link(path=tree + '/current', target=tree + '/app.conf')
server.shell(commands=['uptime > ' + tree + '/uptime'])
"""

PLAYBOOK_YML = """\
# The bench's 7-step deploy as an Ansible playbook.
- hosts: all
  gather_facts: false
  vars:
    tree: "{{ base }}{{ inventory_hostname }}"
  tasks:
    - name: directory
      file: {path: "{{ tree }}", state: directory}
    - name: put
      copy: {src: files/app.conf, dest: "{{ tree }}/app.conf"}
    - name: template
      template: {src: templates/motd.jn2, dest: "{{ tree }}/motd"}
    - name: file
      file:
        path: "{{ tree }}/log"
        state: touch
        mode: "0600"
        modification_time: preserve
        access_time: preserve
    - name: line
      lineinfile: {path: "{{ tree }}/log", line: started}
    - name: link
      file: {path: "{{ tree }}/current", src: "{{ tree }}/app.conf", state: link}
    - name: shell
      shell: "uptime > {{ tree }}/uptime"
"""


def host_names(count):
    """``count`` loopback addresses: 127.0.0.2 .. 127.0.0.254, then 127.0.1.1 ..."""
    names = []
    third = 0
    while len(names) < count:
        first_last = 2 if third == 0 else 1
        for last in range(first_last, 255):
            names.append("127.0.{}.{}".format(third, last))
            if len(names) == count:
                break
        third += 1
        if third > 255:
            raise ValueError("too many hosts: {}".format(count))
    return names


def tree(name):
    return BASE + name


def render_motd(name):
    return "Welcome to {}\n{}\n".format(name, MESSAGE)


def floor_script(name):
    """The 7 steps for one host as one shell script (what one exec runs)."""
    base = tree(name)
    q = shlex.quote
    lines = [
        "set -e",
        "d={}".format(q(base)),
        'mkdir -p "$d"',
        "cat > \"$d/app.conf\" <<'BENCH_APP_CONF_EOF'",
        APP_CONF.rstrip("\n"),
        "BENCH_APP_CONF_EOF",
        "printf '%s' {} > \"$d/motd\"".format(q(render_motd(name))),
        'touch "$d/log"',
        'chmod 600 "$d/log"',
        'grep -qxF started "$d/log" || echo started >> "$d/log"',
        'ln -sfn "$d/app.conf" "$d/current"',
        'uptime > "$d/uptime"',
    ]
    return "\n".join(lines) + "\n"


def _write(path, text, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    if mode is not None:
        os.chmod(path, mode)


def write_known_hosts(path, names, port, host_public_key):
    """Every bench host is known already (they all are the one test sshd)."""
    with open(host_public_key) as handle:
        key_type, key_data = handle.read().split()[:2]
    lines = ["[{}]:{} {} {}\n".format(name, port, key_type, key_data) for name in names]
    _write(path, "".join(lines))


def write_pyinfra_deploy(directory, names, port, client_key, known_hosts, config=None, user="root"):
    """The deploy directory for this project's pyinfra (0.1 API)."""
    _write(
        os.path.join(directory, "inventory.py"),
        "# {} loopback hosts, all served by the bench's test sshd.\nBENCH_HOSTS = [\n{}]\n".format(
            len(names), "".join("    {!r},\n".format(name) for name in names)
        ),
    )
    _write(
        os.path.join(directory, "group_data", "all.py"),
        "\n".join(
            [
                "ssh_user = {!r}".format(user),
                "ssh_port = {}".format(int(port)),
                "ssh_key = {!r}".format(client_key),
                "ssh_known_hosts_file = {!r}".format(known_hosts),
                "base = {!r}".format(BASE),
                "message = {!r}".format(MESSAGE),
                "",
            ]
        ),
    )
    config_lines = ["# Written by scripts/bench."]
    for key, value in sorted((config or {}).items()):
        config_lines.append("{} = {!r}".format(key, value))
    _write(os.path.join(directory, "config.py"), "\n".join(config_lines) + "\n")
    _write(os.path.join(directory, "deploy.py"), DEPLOY_PY)
    _write(os.path.join(directory, "files", "app.conf"), APP_CONF)
    _write(os.path.join(directory, "templates", "motd.jn2"), MOTD_TEMPLATE)


def write_pyinfra3_deploy(directory, names, port, client_key, known_hosts, user="root"):
    """The same deploy for pyinfra 3 (host data inline in the inventory)."""
    data = {
        "ssh_user": user,
        "ssh_port": int(port),
        "ssh_key": client_key,
        "ssh_known_hosts_file": known_hosts,
        "ssh_strict_host_key_checking": "yes",
        "base": BASE,
        "message": MESSAGE,
    }
    _write(
        os.path.join(directory, "inventory.py"),
        "_data = {!r}\nbench_hosts = [\n{}]\n".format(
            data, "".join("    ({!r}, _data),\n".format(name) for name in names)
        ),
    )
    _write(os.path.join(directory, "deploy.py"), DEPLOY_PY_V3)
    _write(os.path.join(directory, "files", "app.conf"), APP_CONF)
    _write(os.path.join(directory, "templates", "motd.jn2"), MOTD_TEMPLATE)


def write_ansible_deploy(directory, names, port, client_key, known_hosts, python, user="root"):
    """The same deploy for ansible-playbook: forks=N, pipelining, ControlPersist."""
    control_dir = os.path.join(directory, "cp")
    os.makedirs(control_dir, exist_ok=True)
    _write(
        os.path.join(directory, "inventory.ini"),
        "[bench]\n{}\n[bench:vars]\n{}\n".format(
            "\n".join(names),
            "\n".join(
                [
                    "ansible_port={}".format(int(port)),
                    "ansible_user={}".format(user),
                    "ansible_ssh_private_key_file={}".format(client_key),
                    "ansible_python_interpreter={}".format(python),
                    "base={}".format(BASE),
                    "message='{}'".format(MESSAGE),
                ]
            ),
        ),
    )
    ssh_args = " ".join(
        [
            "-o ControlMaster=auto",
            "-o ControlPersist=60s",
            "-o UserKnownHostsFile={}".format(known_hosts),
            "-o StrictHostKeyChecking=yes",
            "-o IdentitiesOnly=yes",
        ]
    )
    _write(
        os.path.join(directory, "ansible.cfg"),
        "\n".join(
            [
                "[defaults]",
                "forks = {}".format(len(names)),
                "gathering = explicit",
                "retry_files_enabled = False",
                "interpreter_python = auto_silent",
                "",
                "[ssh_connection]",
                "pipelining = True",
                "ssh_args = {}".format(ssh_args),
                "control_path_dir = {}".format(control_dir),
                "",
            ]
        ),
    )
    _write(os.path.join(directory, "playbook.yml"), PLAYBOOK_YML)
    _write(os.path.join(directory, "files", "app.conf"), APP_CONF)
    _write(os.path.join(directory, "templates", "motd.jn2"), MOTD_TEMPLATE_ANSIBLE)


def check_trees(names):
    """Problems with the hosts' trees after a first run (empty when all is done)."""
    problems = []
    for name in names:
        base = tree(name)
        for leaf in ("app.conf", "motd", "log", "uptime"):
            if not os.path.isfile(os.path.join(base, leaf)):
                problems.append("{}: {} missing".format(name, leaf))
        if os.path.isfile(os.path.join(base, "app.conf")):
            with open(os.path.join(base, "app.conf")) as handle:
                if handle.read() != APP_CONF:
                    problems.append("{}: app.conf has other content".format(name))
        if os.path.isfile(os.path.join(base, "motd")):
            with open(os.path.join(base, "motd")) as handle:
                if not handle.read().startswith("Welcome to {}\n{}".format(name, MESSAGE)):
                    problems.append("{}: motd is not the rendered template".format(name))
        if os.path.isfile(os.path.join(base, "log")):
            with open(os.path.join(base, "log")) as handle:
                if "started" not in handle.read().split("\n"):
                    problems.append("{}: log lacks the line 'started'".format(name))
            mode = os.stat(os.path.join(base, "log")).st_mode & 0o777
            if mode != 0o600:
                problems.append("{}: log has mode {:o}, not 600".format(name, mode))
        current = os.path.join(base, "current")
        target = os.readlink(current) if os.path.islink(current) else None
        if target != os.path.join(base, "app.conf"):
            problems.append("{}: current is not a link to app.conf ({!r})".format(name, target))
    return problems
