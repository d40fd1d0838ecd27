# pyinfra
# File: examples/api_deploy.py
# Desc: a deploy driven from Python through pyinfra's API (0.1's API mode), no CLI.
#
# Hosts, login and the directory it works in come from the environment, so the test
# suite can run this very file against its own SSH server:
#   EXAMPLE_HOSTS=web1.net,web2.net,db1.net EXAMPLE_SSH_USER=vagrant python3 api_deploy.py

import os

from gevent import monkey

monkey.patch_all()  # hosts in parallel (optional: unpatched, they run one at a time)

import json  # noqa: E402
import logging  # noqa: E402

from pyinfra.api import Config, Inventory, State  # noqa: E402
from pyinfra.api.facts import get_facts  # noqa: E402
from pyinfra.api.operation import add_limited_op, add_op  # noqa: E402
from pyinfra.api.operations import run_ops  # noqa: E402
from pyinfra.api.ssh import connect_all  # noqa: E402
from pyinfra.modules import files, server  # noqa: E402

HOSTS = os.environ.get("EXAMPLE_HOSTS", "web1.example.net,web2.example.net,db1.example.net").split(",")
APP_DIR = os.environ.get("EXAMPLE_APP_DIR", "/opt/example")
HERE = os.path.dirname(os.path.abspath(__file__))

# Enable pyinfra logging
logging.basicConfig(level=logging.WARNING)
logging.getLogger("pyinfra").setLevel(logging.INFO)


# First the inventory: a tuple of (all hosts, data of all hosts), then groups as
# name=(hosts, group data). Group names are attributes: inventory.db
inventory = Inventory(
    (
        [
            HOSTS[0],
            # Host-specific data can be attached in the inventory
            (HOSTS[1], {"greeting": "hello from web2"}),
        ],
        {"app_dir": APP_DIR, "greeting": "hello"},
    ),
    web=(HOSTS[:2], {"role": "web"}),
    # Group-specific data is attached like so (a host only named in a group is a host too)
    db=([HOSTS[2]], {"role": "db"}),
    ssh_user=os.environ.get("EXAMPLE_SSH_USER", "vagrant"),
    ssh_port=int(os.environ.get("EXAMPLE_SSH_PORT", "22")),
    ssh_key=os.environ.get("EXAMPLE_SSH_KEY", "~/.ssh/id_rsa"),
)

# Now a config (optional arguments: any of its UPPER_CASE options)
config = Config(FAIL_PERCENT=50, TIMEOUT=5)

# The state of this deploy
state = State(inventory, config)


# Connect to all the hosts
print("Connecting...")
connect_all(state)


# Add operations: each runs on every connected host
print("Generating operations...")
add_op(
    state,
    files.directory,
    "{{ host.data.app_dir }}/{{ host.name }}",
    mode="755",
)

# An operation on some hosts only (here the inventory.db group)
add_limited_op(
    state,
    files.file,
    inventory.db,
    {"Ensure the db marker exists"},  # a set as the first argument names the operation
    "{{ host.data.app_dir }}/{{ host.name }}/db.marker",
    mode="644",
)

# Copy a local file to the hosts
add_op(
    state,
    files.put,
    os.path.join(HERE, "files", "motd"),
    "{{ host.data.app_dir }}/{{ host.name }}/motd",
)

# Each add_op returns what it did per host: {host name: operation meta}
greetings = add_op(state, server.shell, "echo {{ host.data.greeting }} from $(hostname)")


# And finally run them
run_ops(state)

for name, meta in greetings.items():
    # .changed and .commands as 0.1 had them; .success, and .results: per command its
    # exit_code, stdout and stderr
    print(name, "success" if meta.success else "failed", meta.results[0].stdout)

# Facts of all the hosts, {host name: value}
facts = get_facts(state, "os")
print(json.dumps(facts, indent=4))
