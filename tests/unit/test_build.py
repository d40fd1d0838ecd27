"""The build: operations built side by side, every host's facts in one round trip."""

import gevent
import pytest
from test_fact_cache import RecordingConnector

from pyinfra.api import Config, Inventory, State
from pyinfra.api.build import build
from pyinfra.api.exceptions import OperationError
from pyinfra.modules import files, server


def make_state(count=3, **data):
    names = [f"h{n}" for n in range(count)]
    state = State(Inventory.from_layers({name: dict(data) for name in names}, {"all": names}), Config())
    for host in state.inventory:
        host.connector = RecordingConnector()
    return state


def commands_of(state, host):
    return [[str(c) for c in op.commands] for _, op in state.ops_for_host(host)]


def test_every_operations_facts_are_read_in_one_round_trip(tmp_path):
    state = make_state()
    (tmp_path / "exists").write_text("started\n")

    def deploy(host):
        base = f"{tmp_path}/{host.name}"
        files.directory(base)
        files.file(f"{base}/log", mode="600")
        files.line(str(tmp_path / "exists"), "started")
        files.link(f"{base}/current", target=f"{base}/log")
        files.directory(str(tmp_path))
        server.shell("true")

    build(state, deploy)
    for host in state.inventory:
        assert len(host.connector.commands) == 1, host.connector.commands
        ops = commands_of(state, host)
        assert len(ops) == 6
        assert ops[0] and ops[1] and ops[3]  # absent: made
        assert ops[2] == [] and ops[4] == []  # present already: nothing to do
        assert ops[5] == ["true"]


def test_a_deploy_reading_an_operations_meta_waits_for_it(tmp_path):
    state = make_state(2)
    present = tmp_path / "present"
    present.write_text("")

    def deploy(host):
        path = str(present) if host.name == "h0" else str(tmp_path / "absent")
        meta = files.file(path)
        if meta.commands:
            server.shell("echo made")
        server.shell("echo last")

    build(state, deploy)
    h0, h1 = list(state.inventory)
    assert commands_of(state, h0) == [[], ["echo last"]]
    made, *rest = commands_of(state, h1)
    assert made and rest == [["echo made"], ["echo last"]]
    # The deploy waited for the meta; the fact behind it was still read only once.
    assert len(h0.connector.commands) == 1 and len(h1.connector.commands) == 1


def test_build_returns_complete_operations(tmp_path):
    """Once build() returns, operations are plain values: what the deploy got back is
    the HostOperation recorded in the state, its commands a list stored on it."""
    from pyinfra.api.plan import Plan

    state = make_state(2)
    kept = {}

    def deploy(host):
        kept[host] = files.directory(f"{tmp_path}/{host.name}")
        return kept[host]

    returned = build(state, deploy)
    # Stored on the operation's plan, not computed (nothing waits once the build is over).
    assert not isinstance(vars(Plan).get("commands"), property)
    for host in state.inventory:
        ((_, recorded),) = state.ops_for_host(host)
        assert returned[host] is recorded
        assert type(recorded.commands) is list and recorded.commands
        assert recorded.plan.commands is recorded.commands
        assert kept[host].commands is recorded.commands  # what the deploy holds reads it too


def test_an_operation_sees_only_the_commands_recorded_before_it():
    state = make_state(1)

    def deploy(host):
        server.wait(1)  # nothing earlier: reads the listening ports
        server.shell("true")
        server.wait(2)  # an earlier operation changes the host: waits, reads nothing new

    build(state, deploy)
    (host,) = state.inventory
    ops = commands_of(state, host)
    assert ops[2] and "2" in ops[2][0]
    assert len(host.connector.commands) == 1


def test_facts_read_as_different_users_go_in_one_round_trip_each(tmp_path):
    state = make_state(1)

    def deploy(host):
        files.file(str(tmp_path / "a"))
        files.file(str(tmp_path / "b"), sudo=True)
        files.file(str(tmp_path / "c"))

    build(state, deploy)
    (host,) = state.inventory
    assert len(host.connector.commands) == 2


def test_an_error_inside_an_operation_names_where_it_was_called():
    state = make_state(2)

    def deploy(host):
        server.shell("true")
        files.file("/tmp/x", mode="600", permissions="644")

    with pytest.raises(OperationError) as caught:
        build(state, deploy)
    assert "test_build.py, line" in str(caught.value)
    assert "files.file()" in str(caught.value)


def test_the_same_fact_asked_twice_in_one_step_is_read_once(tmp_path):
    state = make_state(1)

    def deploy(host):
        files.file(str(tmp_path / "same"), mode="600")
        files.file(str(tmp_path / "same"), mode="644")

    build(state, deploy)
    (host,) = state.inventory
    assert len(host.connector.commands) == 1
    assert host.connector.commands[0].count("stat -c") == 1


class PreparingConnector(RecordingConnector):
    prepared = 0

    def __init__(self, host, config, **kwargs):
        super().__init__()

    def connect(self):
        pass

    def connect_retries(self):
        return 0

    def prepare(self):
        PreparingConnector.prepared += 1


@pytest.mark.parametrize("cap, prepared", [(64, 3), (2, 0)])
def test_shells_open_while_connecting_only_when_every_host_connects_at_once(monkeypatch, cap, prepared):
    from pyinfra.api import connectors
    from pyinfra.api.run import connect

    monkeypatch.setattr(connectors, "make_connector", PreparingConnector)
    monkeypatch.setattr(connect, "CONNECT_AT_ONCE", cap)
    PreparingConnector.prepared = 0
    state = State(
        Inventory.from_layers({f"h{n}": {} for n in range(3)}, {"all": ["h0", "h1", "h2"]}), Config()
    )
    connect.connect_all(state)
    assert all(host.connector is not None for host in state.inventory)
    assert PreparingConnector.prepared == prepared


class DroppingConnector(RecordingConnector):
    """Loses the connection at the first command."""

    def run_shell_command(self, command, **kwargs):
        from pyinfra.api.exceptions import ConnectError

        self.connected = False
        raise ConnectError("connection lost")


def test_a_host_lost_while_building_fails_alone(tmp_path):
    state = make_state(2)
    lost = state.inventory.get_host("h1")
    lost.connector = DroppingConnector()

    def deploy(host):
        files.file(str(tmp_path / "a"))
        meta = files.file(str(tmp_path / "b"))
        if meta.commands:
            server.shell("true")

    build(state, deploy)
    assert state.results[lost].failed and "connection lost" in state.results[lost].error
    assert all(op.commands == [] for _, op in state.ops_for_host(lost))
    kept = state.inventory.get_host("h0")
    assert not state.results[kept].failed and len(state.ops_for_host(kept)) == 3


def test_every_operation_is_readable_after_a_failed_build(tmp_path):
    """An operation raising stops the build; every operation recorded until then still
    answers `commands` (made, or [] with why not), without waiting or LoopExit."""
    state = make_state(2)

    def deploy(host):
        made = files.file(str(tmp_path / "made"))
        files.file(str(tmp_path / "waits-for-facts"))
        if host.name == "h1":
            files.file("/tmp/x", mode="rwx")  # raises while it is built
        if made.changed:  # waits for a fact round trip the failure stops
            server.shell("echo after")

    with pytest.raises(OperationError):
        build(state, deploy)
    for host in state.inventory:
        ops = state.ops_for_host(host)
        assert ops, host
        for meta, op in ops:
            with gevent.Timeout(2):
                assert op.commands == [], (host, meta.name)
                assert op.changed is False
            assert op.error, (host, meta.name)
    h1 = state.inventory.get_host("h1")
    broken = [op for meta, op in state.ops_for_host(h1) if meta.name.startswith("Files/File (/tmp/x")]
    assert broken and "files.file()" in broken[0].error
    assert "test_build.py, line" in broken[0].error
    others = [op for meta, op in state.ops_for_host(h1) if not meta.name.startswith("Files/File (/tmp/x")]
    assert all(op.error.startswith("not built:") for op in others), [op.error for op in others]


def test_operations_built_before_a_failure_keep_their_commands(tmp_path):
    state = make_state(1)

    def deploy(host):
        server.shell("echo first")
        files.file("/tmp/x", mode="rwx")

    with pytest.raises(OperationError):
        build(state, deploy)
    (host,) = state.inventory
    (first, _), (broken, _) = [(op, meta) for meta, op in state.ops_for_host(host)]
    assert [str(c) for c in first.commands] == ["echo first"] and first.error is None
    assert broken.commands == [] and "files.file()" in broken.error


def test_operation_meta_keeps_each_commands_result():
    """What every command did is kept on the host's operation (for API users, --json)."""
    from pyinfra.api.command import StringCommand
    from pyinfra.api.connectors.base import CommandResult
    from pyinfra.api.run.steps import run_host_operation
    from pyinfra.api.state import Events, HostOperation, OperationMeta

    class Connector:
        connected = True

        def run_commands(self, group, **kwargs):
            return [CommandResult(str(c), 0, [f"out {c}"], []) for c in group]

    state = make_state(count=1)
    host = next(iter(state.inventory))
    host.connector = Connector()
    kwargs = dict(sudo=False, sudo_user=None, su_user=None, env={}, timeout=None, ignore_errors=False)
    op = HostOperation([StringCommand("a"), StringCommand("b")], kwargs)
    meta = OperationMeta("k", "Server/Shell", "deploy.py, line 1", kwargs)
    assert run_host_operation(state, host, meta, op, Events())
    assert op.success and op.changed and op.attempts == 1
    done = [(r.command, r.exit_code, r.stdout) for r in op.results]
    assert done == [("a", 0, ["out a"]), ("b", 0, ["out b"])]
