"""The fact cache: companions read in the same round trip, output split exactly."""

from pyinfra.api import Config, Inventory, State
from pyinfra.api.connectors.base import CommandResult
from pyinfra.api.facts import split_outputs


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
    state = State(Inventory({"h": {}}, {"all": ["h"]}), Config())
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
