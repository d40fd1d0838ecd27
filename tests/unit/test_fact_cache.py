"""The fact cache: companions read in the same round trip, output split exactly."""

from pyinfra.api import Config, Inventory, State
from pyinfra.api.connectors.base import CommandResult
from pyinfra.api.factcache import split_outputs


class RecordingConnector:
    """Runs fact commands with sh locally and records each round trip."""

    connected = True

    def __init__(self):
        self.commands = []

    def run_shell_command(self, command, **kwargs):
        import subprocess

        self.commands.append(command)
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True)
        return CommandResult(command, done.returncode, done.stdout.splitlines(), done.stderr.splitlines())


def make_host():
    state = State(Inventory.from_layers({"h": {}}, {"all": ["h"]}), Config())
    host = state.inventory.get_host("h")
    host.connector = RecordingConnector()
    return host


def test_sha1_file_brings_file_in_the_same_round_trip(tmp_path):
    target = tmp_path / "it's a file"
    target.write_text("hello\n")
    host = make_host()
    assert host.fact.sha1_file(str(target)) == "f572d396fae9206628714fb2ce00f72e94f2258f"
    info = host.fact.file(str(target))
    assert info["size"] == 6
    assert len(host.connector.commands) == 1


def test_absent_file_and_companion_defaults(tmp_path):
    host = make_host()
    missing = str(tmp_path / "missing")
    assert host.fact.sha1_file(missing) is None
    assert host.fact.file(missing) is None
    assert len(host.connector.commands) == 1


def test_split_outputs_keeps_partial_lines_and_statuses():
    sep = "__sep__"
    lines = ["a", "b" + sep + " 0", sep + " 1", "c", sep + " 7"]
    assert split_outputs(lines, sep) == [(0, ["a", "b"]), (1, []), (7, ["c"])]


def test_a_failed_fact_fails_the_host_with_its_own_stderr(tmp_path):
    """Read in one round trip with others, a failing fact's error carries what its own
    command said, and the facts beside it keep their values."""
    from pyinfra.api.command import Identity
    from pyinfra.api.exceptions import FactError
    from pyinfra.api.factcache import FactRequest
    from pyinfra.api.facts import FactKey, get_fact_class

    host = make_host()
    cache = host.state.facts
    requests = []
    for name, args in (("which", ("sh",)), ("command", ("echo one >&2; (exit 3)",)), ("home", ())):
        fact = get_fact_class(name)()
        requests.append(FactRequest(host, fact, fact.make_command(*args), FactKey(name, args, Identity())))
    cache.read_many(requests)
    assert len(host.connector.commands) == 1
    assert host.fact.which("sh")
    try:
        host.fact.command("echo one >&2; (exit 3)")
    except FactError as error:
        message = str(error)
    else:
        raise AssertionError("a failed fact read as a value")
    assert message == "fact command('echo one >&2; (exit 3)') failed: exit status 3: one"
    assert host.state.results[host].failed
    assert host.state.results[host].error == message


def test_unreadable_output_is_an_error_not_a_default():
    from pyinfra.api.exceptions import FactError

    host = make_host()
    host.connector.run_shell_command = lambda command, **kwargs: CommandResult(command, 0, ["garbage"], [])
    try:
        host.fact.date  # reading it is the test
    except FactError as error:
        assert "fact date: output not understood (ValueError" in str(error)
    else:
        raise AssertionError("garbage read as a date")
    assert host.state.results[host].failed


def test_ignore_errors_fails_the_operation_not_the_host(tmp_path):
    """An operation with ignore_errors=True whose fact cannot be read is built with no
    commands and an error, and the host is not failed."""
    from pyinfra.api.build import build
    from pyinfra.modules import files

    host = make_host()
    state = host.state
    real = host.connector.run_shell_command

    unreadable = tmp_path / "unreadable"
    unreadable.write_text("")
    # Root reads everything: the stat of this one path fails as a login's would.
    stat = f"stat -c '%f %s %Y %U %G' -- {unreadable}"

    def run(command, **kwargs):
        failing = '{ echo "stat: cannot statx: Permission denied" >&2; false; }'
        return real(command.replace(stat, failing), **kwargs)

    host.connector.run_shell_command = run
    ops = []

    def deploy(h):
        ops.append(files.file(str(unreadable), present=False, ignore_errors=True))
        ops.append(files.file(str(tmp_path / "made")))

    build(state, deploy)
    assert not state.results[host].failed
    ignored, made = ops
    assert ignored.commands == []
    assert f"fact file('{unreadable}') failed: exit status 1" in ignored.error
    assert "Permission denied" in ignored.error
    assert made.commands and made.error is None
    assert unreadable.exists()
