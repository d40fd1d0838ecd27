"""The SSH connector's shell against the test sshd, driven from a gevent-patched
subprocess as the CLI drives it (paramiko's threads must be greenlets)."""

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import json, sys
    import paramiko
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.connectors import make_connector

    port, key, known_hosts = sys.argv[1:4]
    waits = []
    wait_for_event = paramiko.Channel._wait_for_event

    def counted(channel):
        waits.append(1)
        return wait_for_event(channel)

    paramiko.Channel._wait_for_event = counted
    data = {"ssh_port": int(port), "ssh_key": key, "ssh_known_hosts_file": known_hosts}
    state = State(Inventory({"127.0.0.2": data}, {"all": ["127.0.0.2"]}), Config())
    host = state.inventory.get_host("127.0.0.2")
    connector = make_connector(host, state.config)
    connector.connect()
    connector.prepare()
    started = len(waits)
    first = connector.run_shell_command("echo one; echo two >&2; exit 3")
    second = connector.run_shell_command("echo again")
    connector.close()
    print(json.dumps({
        "waits while starting": started,
        "first": [first.exit_code, list(first.stdout), list(first.stderr)],
        "second": [second.exit_code, list(second.stdout)],
    }))
""")


def test_a_shell_starts_without_waiting_for_the_servers_reply(sshd, tmp_path):
    # The exec request goes out and the first command follows it at once: one round
    # trip per shell less. Every command still gets its own status and streams.
    known_hosts = tmp_path / "known_hosts"
    command = [sys.executable, "-c", SCRIPT, str(sshd.port), str(sshd.client_key), str(known_hosts)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["waits while starting"] == 0
    assert result["first"] == [3, ["one"], ["two"]]
    assert result["second"] == [0, ["again"]]
