"""The engine without SSH: run order, serial, no_wait, run_once, FAIL_PERCENT, hooks and
Python callbacks, through the API calls (connect_all, add_op, run_ops) over a fake
connector that records what each host was asked to run."""

import gevent
import pytest

from pyinfra.api import Config, Inventory, State
from pyinfra.api.command import LOGIN, FileDownloadCommand, RunAs, StringCommand
from pyinfra.api.connectors.base import CommandResult, Connector
from pyinfra.api.exceptions import DeployError
from pyinfra.api.operation import add_limited_op, add_op, operation
from pyinfra.api.operations import run_ops
from pyinfra.api.ssh import connect_all
from pyinfra.modules import python, server


class FakeConnector(Connector):
    """Runs nothing: logs (host, command, event) to the state's `log`; a command named
    in the host's `fail` data exits 1; `delay` data makes each command take that long."""

    def connect(self):
        self.connected = True

    def _run(self, command):
        log = self.host.state.log
        name = self.host.name
        log.append((name, command, "start"))
        running = self.host.state.running
        running.append(name)
        self.host.state.most_at_once = max(self.host.state.most_at_once, len(running))
        gevent.sleep(self.host.data.delay or 0.001)
        running.remove(name)
        log.append((name, command, "end"))
        code = 1 if command in (self.host.data.fail or ()) else 0
        return CommandResult(command, code, [], ["it failed"] if code else [])

    def run_shell_command(self, command, run_as=LOGIN, stdin=None):
        self.host.state.run_as.append((command, run_as))
        return self._run(command)

    def put_file(self, src, dest, run_as=LOGIN):
        self.host.state.run_as.append((f"upload {dest}", run_as))
        return self._run(f"upload {dest}")


@pytest.fixture
def fake_ssh(monkeypatch):
    from pyinfra.api import connectors

    monkeypatch.setattr(connectors, "make_connector", FakeConnector)


def make_state(hosts=("h0", "h1", "h2"), **config):
    state = State(Inventory((list(hosts), {})), Config(**config))
    state.log, state.running, state.most_at_once, state.run_as = [], [], 0, []
    return state


def ran(state, event="end"):
    """(host, command) in the order they ended (or started)."""
    return [(host, command) for host, command, what in state.log if what == event]


# -- run order: State.add_operation ---------------------------------------------------


def test_each_hosts_own_order_is_kept_and_a_cycle_makes_a_second_operation():
    """h0 records a then b, h1 records b then a: no single order keeps both, so h1's
    a becomes an operation of its own, after b."""
    state = make_state(("h0", "h1"))
    h0, h1 = state.inventory
    kwargs = {}
    state.add_operation(h0, "a", "A", "deploy.py, line 1", [], kwargs, position=(("deploy.py", 1),))
    state.add_operation(h0, "b", "B", "deploy.py, line 2", [], kwargs, position=(("deploy.py", 2),))
    state.add_operation(h1, "b", "B", "deploy.py, line 2", [], kwargs, position=(("deploy.py", 2),))
    state.add_operation(h1, "a", "A", "deploy.py, line 1", [], kwargs, position=(("deploy.py", 1),))
    assert state.op_order == ["a", "b", "a#2"]
    assert [meta.key for meta, _ in state.ops_for_host(h0)] == ["a", "b"]
    assert [meta.key for meta, _ in state.ops_for_host(h1)] == ["b", "a#2"]


def test_where_hosts_do_not_decide_the_deploys_lines_do():
    """Two hosts each run one operation: the one called earlier in the file runs first,
    whichever host recorded its operation first."""
    state = make_state(("h0", "h1"))
    h0, h1 = state.inventory
    state.add_operation(h0, "late", "Late", "deploy.py, line 9", [], {}, position=(("deploy.py", 9),))
    state.add_operation(h1, "early", "Early", "deploy.py, line 3", [], {}, position=(("deploy.py", 3),))
    assert state.op_order == ["early", "late"]


def test_the_same_operation_twice_on_one_host_is_two_operations():
    state = make_state(("h0",))
    (h0,) = state.inventory
    first = state.add_operation(h0, "k", "K", "deploy.py, line 1", [], {})
    second = state.add_operation(h0, "k", "K", "deploy.py, line 1", [], {})
    assert first is not second
    assert state.op_order == ["k", "k#2"]


def test_hosts_calling_with_other_arguments_name_the_variants():
    state = make_state(("h0", "h1", "h2"))
    h0, h1, h2 = state.inventory
    state.add_operation(h0, "k", "Shell (a)", "deploy.py, line 1", [], {})
    state.add_operation(h1, "k", "Shell (b)", "deploy.py, line 1", [], {})
    state.add_operation(h2, "k", "Shell (c)", "deploy.py, line 1", [], {})
    assert state.op_meta["k"].name == "Shell (a) (+2 variants)"


# -- running: run_ops ------------------------------------------------------------------


def test_operation_by_operation_all_hosts_in_parallel(fake_ssh):
    state = make_state()
    connect_all(state)
    add_op(state, server.shell, "one")
    add_op(state, server.shell, "two")
    run_ops(state)
    done = ran(state)
    assert sorted(done[:3]) == [("h0", "one"), ("h1", "one"), ("h2", "one")]
    assert sorted(done[3:]) == [("h0", "two"), ("h1", "two"), ("h2", "two")]
    assert state.most_at_once == 3
    assert all(state.results[h].ops_done == 2 for h in state.inventory)


def test_serial_runs_each_operation_host_by_host(fake_ssh):
    state = make_state()
    connect_all(state)
    add_op(state, server.shell, "one")
    add_op(state, server.shell, "two")
    run_ops(state, serial=True)
    assert state.most_at_once == 1
    assert ran(state) == [(h, "one") for h in ("h0", "h1", "h2")] + [(h, "two") for h in ("h0", "h1", "h2")]


def test_the_serial_argument_makes_only_that_operation_serial(fake_ssh):
    state = make_state()
    connect_all(state)
    add_op(state, server.shell, "alone", serial=True)
    run_ops(state)
    assert state.most_at_once == 1
    state.log.clear()
    add_op(state, server.shell, "together")
    state.most_at_once = 0
    run_ops(state)
    assert state.most_at_once == 3


def test_no_wait_lets_each_host_run_at_its_own_pace(fake_ssh):
    """A slow host does not hold the others back: h1 is through both operations before
    h0 is through its first. Without no_wait, h1 waits for h0 between them."""
    for no_wait in (True, False):
        state = State(Inventory(([("h0", {"delay": 0.2}), ("h1", {})], {})), Config())
        state.log, state.running, state.most_at_once, state.run_as = [], [], 0, []
        connect_all(state)
        add_op(state, server.shell, "one")
        add_op(state, server.shell, "two")
        run_ops(state, no_wait=no_wait)
        done = ran(state)
        if no_wait:
            assert done.index(("h1", "two")) < done.index(("h0", "one"))
        else:
            assert done.index(("h1", "two")) > done.index(("h0", "one"))
        assert sorted(done) == [("h0", "one"), ("h0", "two"), ("h1", "one"), ("h1", "two")]


def test_run_once_runs_on_the_first_host_only(fake_ssh):
    state = make_state()
    connect_all(state)
    once = add_op(state, server.shell, "migrate", run_once=True)
    run_ops(state)
    assert ran(state) == [("h0", "migrate")]
    assert once["h0"].success
    assert once["h1"].status == once["h2"].status == "skipped"


def test_a_failed_command_stops_its_host_only(fake_ssh):
    state = State(Inventory(([("h0", {"fail": ["one"]}), "h1"], {})), Config())
    state.log, state.running, state.most_at_once, state.run_as = [], [], 0, []
    connect_all(state)
    first = add_op(state, server.shell, "one")
    add_op(state, server.shell, "two")
    run_ops(state)
    assert sorted(ran(state)) == [("h0", "one"), ("h1", "one"), ("h1", "two")]
    h0 = state.inventory.get_host("h0")
    assert state.results[h0].failed and "it failed" in state.results[h0].error
    assert first["h0"].status == "error" and first["h1"].success


@pytest.mark.parametrize("percent, stops", [(0, True), (40, True), (60, False)])
def test_fail_percent_stops_the_deploy_when_too_many_hosts_failed(fake_ssh, percent, stops):
    """2 of 4 hosts fail the first operation (50%): above FAIL_PERCENT no host runs the
    second, and run_ops says why; the after_deploy hooks still run."""
    hosts = [("h0", {"fail": ["one"]}), ("h1", {"fail": ["one"]}), "h2", "h3"]
    state = State(Inventory((hosts, {})), Config(FAIL_PERCENT=percent))
    state.log, state.running, state.most_at_once, state.run_as = [], [], 0, []
    after = []
    state.add_hook("after_deploy", lambda data, state: after.append(True))
    connect_all(state)
    add_op(state, server.shell, "one")
    add_op(state, server.shell, "two")
    if stops:
        with pytest.raises(DeployError, match="FAIL_PERCENT"):
            run_ops(state)
    else:
        run_ops(state)
    second = sorted(h for h, command in ran(state) if command == "two")
    assert second == ([] if stops else ["h2", "h3"])
    assert after == [True]


def test_fail_percent_over_hosts_that_could_not_connect(monkeypatch):
    from pyinfra.api import connectors
    from pyinfra.api.exceptions import ConnectError

    class Unreachable(FakeConnector):
        def connect(self):
            if self.host.name == "h0":
                raise ConnectError("h0: connection refused")
            self.connected = True

    monkeypatch.setattr(connectors, "make_connector", Unreachable)
    facts = []
    state = make_state(("h0", "h1"), FAIL_PERCENT=10)
    state.add_hook("before_facts", lambda data, state: facts.append(True))
    with pytest.raises(DeployError, match="failed to connect"):
        connect_all(state)
    assert facts == []  # not called once the deploy stopped
    assert state.results[state.inventory.get_host("h0")].error == "h0: connection refused"


def test_hooks_run_in_the_order_of_the_deploy(fake_ssh):
    state = make_state(("h0",))
    events = []
    for name in ("after_deploy", "before_facts", "before_deploy", "before_connect"):
        state.add_hook(name, lambda data, state, name=name: events.append(name))
    connect_all(state)
    events.append("connected" if state.inventory.get_host("h0").connected else "not connected")
    add_op(state, server.shell, "one")
    run_ops(state)
    events.insert(-1, f"ran {ran(state)}")
    assert events == [
        "before_connect",
        "before_facts",
        "connected",
        "before_deploy",
        "ran [('h0', 'one')]",
        "after_deploy",
    ]


def test_a_hook_error_stops_the_run_before_any_operation(fake_ssh):
    from pyinfra.api.exceptions import DeployFileError

    state = make_state(("h0",))
    connect_all(state)
    add_op(state, server.shell, "one")

    def broken(data, state):
        raise ValueError("no")

    state.add_hook("before_deploy", broken)
    with pytest.raises(DeployFileError, match="ValueError: no"):
        run_ops(state)
    assert ran(state) == []


# -- Python callbacks: python.execute ---------------------------------------------------


@pytest.mark.parametrize("error", [ValueError("bad thing"), SystemExit(3)])
def test_a_callback_that_raises_fails_its_host_only(fake_ssh, error):
    state = make_state(("h0", "h1"))
    called = []

    def callback(state, host, word):
        called.append((host.name, word))
        if host.name == "h0":
            raise error

    connect_all(state)
    made = add_op(state, python.execute, callback, "hi")
    add_op(state, server.shell, "after")
    run_ops(state)
    assert sorted(called) == [("h0", "hi"), ("h1", "hi")]
    assert ran(state) == [("h1", "after")]
    h0 = state.inventory.get_host("h0")
    message = f"{type(error).__name__}: {error}"
    assert made["h0"].status == "error" and message in made["h0"].error
    assert state.results[h0].failed and message in state.results[h0].error
    assert made["h1"].success


def test_a_callback_runs_where_it_stands_between_commands(fake_ssh):
    state = make_state(("h0",))
    connect_all(state)

    def callback(state, host):
        state.log.append((host.name, "callback", "end"))

    add_op(state, server.shell, "before")
    add_op(state, python.execute, callback)
    add_op(state, server.shell, "after")
    run_ops(state)
    assert ran(state) == [("h0", "before"), ("h0", "callback"), ("h0", "after")]


def test_add_limited_op_runs_on_the_named_hosts_only(fake_ssh):
    state = make_state()
    connect_all(state)
    add_limited_op(state, server.shell, [state.inventory.get_host("h1")], "only")
    run_ops(state)
    assert ran(state) == [("h1", "only")]


def test_an_operations_run_as_reaches_the_connector_whole(fake_ssh):
    """sudo, sudo_user, su_user, env, timeout and get_pty travel as one RunAs; a
    command marked as the login's runs without sudo/su but keeps the rest."""

    @operation
    def two(state, host):
        yield "as root"
        yield StringCommand("as login", login=True)

    state = make_state(("h0",))
    connect_all(state)
    add_op(state, two, sudo=True, sudo_user="app", su_user="svc", env={"A": "1"}, timeout=9, get_pty=True)
    add_op(state, server.shell, "plain")
    run_ops(state)
    asked = RunAs(True, "app", "svc", {"A": "1"}, 9, True)
    assert state.run_as == [
        ("as root", asked),
        ("as login", RunAs(env={"A": "1"}, timeout=9, get_pty=True)),
        ("plain", RunAs(env={})),
    ]


def test_a_download_runs_alone_through_the_connector_as_the_operations_user(monkeypatch):
    """files.get's FileDownloadCommand is the connector's get_file, where it stands
    between the commands, with the operation's sudo; a connector that cannot get
    files fails its host with that message."""

    class Getting(FakeConnector):
        def get_file(self, src, dest, run_as=LOGIN):
            self.host.state.run_as.append((f"get {src} {dest}", run_as))
            return self._run(f"get {src}")

    @operation
    def fetch(state, host):
        yield "before"
        yield FileDownloadCommand("/etc/motd", "motd")
        yield "after"

    from pyinfra.api import connectors

    monkeypatch.setattr(connectors, "make_connector", Getting)
    state = make_state(("h0",))
    connect_all(state)
    add_op(state, fetch, sudo=True)
    run_ops(state)
    assert ran(state) == [("h0", "before"), ("h0", "get /etc/motd"), ("h0", "after")]
    assert state.run_as[1] == ("get /etc/motd motd", RunAs(sudo=True, env={}))

    monkeypatch.setattr(connectors, "make_connector", FakeConnector)
    state = make_state(("h0",))
    connect_all(state)
    add_op(state, fetch)
    run_ops(state)
    (h0,) = state.inventory
    assert "FakeConnector cannot get files" in state.results[h0].error
    assert ran(state) == [("h0", "before")]


def test_no_wait_sends_a_hosts_operations_in_chains(monkeypatch):
    """Consecutive operations run as the same user go to the connector together; a
    chain ends at another user, a callback (run alone, where it stands) and after an
    operation with ignore_errors. Each operation still gets its own result."""
    from pyinfra.api import connectors

    class Batching(FakeConnector):
        def run_commands(self, commands, run_as=LOGIN):
            self.host.state.batches.append([command.command for command in commands])
            return super().run_commands(commands, run_as)

    monkeypatch.setattr(connectors, "make_connector", Batching)
    state = make_state(("h0",))
    state.batches = []
    connect_all(state)

    def callback(state, host):
        state.log.append((host.name, "callback", "end"))

    for command, kwargs in (("a", {}), ("b", {}), ("c", {"sudo": True}), ("d", {})):
        add_op(state, server.shell, command, **kwargs)
    add_op(state, python.execute, callback)
    add_op(state, server.shell, "e", ignore_errors=True)
    add_op(state, server.shell, "f")
    run_ops(state, no_wait=True)
    assert state.batches == [["a", "b"], ["c"], ["d"], ["e"], ["f"]]
    assert [command for _, command in ran(state)] == ["a", "b", "c", "d", "callback", "e", "f"]
    ops = [op for _, op in state.ops_for_host(state.inventory.get_host("h0"))]
    assert [op.status for op in ops] == ["success"] * 7
    assert [len(op.results) for op in ops] == [1, 1, 1, 1, 1, 1, 1]


def test_no_wait_chain_stops_at_the_failed_operation(monkeypatch):
    from pyinfra.api import connectors

    monkeypatch.setattr(connectors, "make_connector", FakeConnector)
    state = State(Inventory(([("h0", {"fail": ["b"]})], {})), Config())
    state.log, state.running, state.most_at_once, state.run_as = [], [], 0, []
    connect_all(state)
    for command in ("a", "b", "c"):
        add_op(state, server.shell, command)
    run_ops(state, no_wait=True)
    ops = [op for _, op in state.ops_for_host(state.inventory.get_host("h0"))]
    assert [op.status for op in ops] == ["success", "error", None]
    assert ran(state) == [("h0", "a"), ("h0", "b")]
    assert state.results[state.inventory.get_host("h0")].failed


def test_arguments_are_checked_for_each_shape_of_call(fake_ssh):
    """The signature check runs once per shape of call (positional count, keyword
    names), not once per host: a new shape is still checked."""
    from pyinfra.api.exceptions import OperationTypeError

    state = make_state(("h0", "h1"))
    connect_all(state)
    add_op(state, server.shell, "fine")
    add_op(state, server.shell, "fine again")
    with pytest.raises(OperationTypeError, match="colour"):
        add_op(state, server.shell, "not fine", colour="red")
    with pytest.raises(OperationTypeError):
        add_op(state, server.shell)
