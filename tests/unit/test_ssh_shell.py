"""The SSH connector's shell against the test sshd, driven from a gevent-patched
subprocess as the CLI drives it (paramiko's threads must be greenlets)."""

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import json, sys
    import paramiko
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.command import FileUploadCommand, StringCommand
    from pyinfra.api.connectors import make_connector

    port, key, known_hosts = sys.argv[1:4]
    waits = []
    wait_for_event = paramiko.Channel._wait_for_event

    def counted(channel):
        waits.append(1)
        return wait_for_event(channel)

    paramiko.Channel._wait_for_event = counted
    data = {"ssh_port": int(port), "ssh_key": key, "ssh_known_hosts_file": known_hosts}
    state = State(Inventory.from_layers({"127.0.0.2": data}, {"all": ["127.0.0.2"]}), Config())
    host = state.inventory.get_host("127.0.0.2")
    connector = make_connector(host, state.config)
    connector.connect()
    connector.prepare()
    started = len(waits)
    first = connector.run_shell_command("echo one; echo two >&2; exit 3")
    second = connector.run_shell_command("echo again")
    writes = []
    sendall = paramiko.Channel.sendall
    paramiko.Channel.sendall = lambda channel, data: (writes.append(1), sendall(channel, data))[1]
    batch = connector.run_commands([
        StringCommand("echo a"),
        FileUploadCommand(b"uploaded\\n", sys.argv[4]),
        StringCommand("echo broke >&2; exit 3"),
        StringCommand("echo never"),
    ])
    paramiko.Channel.sendall = sendall
    after = connector.run_shell_command("echo after")
    connector.close()
    print(json.dumps({
        "waits while starting": started,
        "first": [first.exit_code, list(first.stdout), list(first.stderr)],
        "second": [second.exit_code, list(second.stdout)],
        "batch writes": len(writes),
        "batch": [[r.exit_code, list(r.stdout), list(r.stderr)] for r in batch],
        "after": [after.exit_code, list(after.stdout), list(after.stderr)],
    }))
""")


def test_the_shell_saves_round_trips_and_keeps_each_commands_result(sshd, tmp_path):
    # The exec request goes out and the first command follows it at once: one round
    # trip per shell less. Every command still gets its own status and streams.
    # An operation's commands and uploads are written in one go; the shell skips those
    # after a failure, and the next command reads only its own output.
    known_hosts = tmp_path / "known_hosts"
    upload = tmp_path / "uploaded"
    arguments = [str(sshd.port), str(sshd.client_key), str(known_hosts), str(upload)]
    command = [sys.executable, "-c", SCRIPT, *arguments]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["waits while starting"] == 0
    assert result["first"] == [3, ["one"], ["two"]]
    assert result["second"] == [0, ["again"]]
    assert result["batch writes"] == 1
    assert result["batch"] == [[0, ["a"], []], [0, [], []], [3, [], ["broke"]]]
    assert result["after"] == [0, ["after"], []]
    assert upload.read_bytes() == b"uploaded\n"


def run_connected(sshd, tmp_path, body: str, patched: bool = True):
    """Run `body` (Python) in a subprocess where `connector` is connected to the test
    sshd as root, gevent-patched as the CLI is (or not: the API from threads), and
    return what it printed last, as JSON."""
    script = textwrap.dedent(f"""
        import json, sys
        from gevent import monkey
        if {patched!r}:
            monkey.patch_all()
        from pyinfra.api import Config, Inventory, State
        from pyinfra.api.connectors import make_connector

        port, key, known_hosts = sys.argv[1:4]
        data = {{"ssh_port": int(port), "ssh_key": key, "ssh_known_hosts_file": known_hosts}}
        state = State(Inventory.from_layers({{"127.0.0.2": data}}, {{"all": ["127.0.0.2"]}}), Config())
        connector = make_connector(state.inventory.get_host("127.0.0.2"), state.config)
        connector.connect()
    """) + textwrap.dedent(body)
    arguments = [str(sshd.port), str(sshd.client_key), str(tmp_path / "known_hosts")]
    done = subprocess.run(
        [sys.executable, "-c", script, *arguments], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_first_commands_too_long_for_the_exec_request_go_on_stdin(sshd, tmp_path):
    """A shell starts with its first commands in its exec request, up to INLINE_MAX;
    longer ones are written to the shell once it runs, with the same results."""
    size, code, first, second = run_connected(
        sshd,
        tmp_path,
        """
        from pyinfra.api.connectors.ssh.remote_shell import INLINE_MAX
        size = INLINE_MAX + 1000
        first = connector.run_shell_command("printf %s '" + "x" * size + "' | wc -c")
        second = connector.run_shell_command("echo next")
        connector.close()
        print(json.dumps([size, first.exit_code, list(first.stdout), list(second.stdout)]))
        """,
    )
    assert (code, first, second) == (0, [str(size)], ["next"])


@pytest.mark.parametrize("patched, pipe", [(True, "GreenPipe"), (False, "BufferedPipe")])
def test_a_shell_reads_long_output_with_the_pipe_its_process_can_use(sshd, tmp_path, patched, pipe):
    """Patched (the CLI), a shell's channel is fed into the gevent pipe
    (connectors/ssh/paramiko_internals.py GreenPipe); unpatched (the API from threads), into paramiko's."""
    result = run_connected(
        sshd,
        tmp_path,
        """
        result = connector.run_shell_command("seq 1 20000; printf 'no newline'; seq 1 3 >&2")
        shell = next(iter(connector.transport._shells.values()))
        print(json.dumps([type(shell.channel.in_buffer).__name__, result.exit_code, len(result.stdout),
                          result.stdout[0], result.stdout[-1], list(result.stderr)]))
        connector.close()
        """,
        patched,
    )
    assert result == [pipe, 0, 20001, "1", "no newline", ["1", "2", "3"]]
