"""Hooks belong to the run that loaded them: two loads in one process share none."""

from pyinfra import hook
from pyinfra.api.config import Config
from pyinfra.api.inventory import Inventory
from pyinfra.api.state import State
from pyinfra.cli.load import load

DEPLOY = """
from pyinfra import hook

@hook.before_deploy
def {name}(data, state):
    state.calls.append('{name}')
"""


def test_each_load_keeps_its_own_hooks(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    for folder, name in ((first, "first"), (second, "second")):
        folder.mkdir()
        (folder / "deploy.py").write_text(DEPLOY.format(name=name))
    one = load("127.0.0.2", [str(first / "deploy.py")], {})
    two = load("127.0.0.2", [str(second / "deploy.py")], {})
    assert [f.__name__ for f in one.hooks["before_deploy"]] == ["first"]
    assert [f.__name__ for f in two.hooks["before_deploy"]] == ["second"]


def test_decorators_outside_a_load_register_nothing():
    @hook.before_connect
    def stray(data, state):
        raise AssertionError("never called")

    state = State(Inventory((["h"], {})), Config())
    state.call_hooks("before_connect")  # nothing registered: nothing called
    assert state.hooks["before_connect"] == []


def test_state_hooks_run_in_order_once_each_with_the_inventory_data():
    state = State(Inventory((["h"], {"team": "ops"})))
    calls = []

    def first(data, state):
        calls.append(("first", data.team))

    def second(data, state):
        calls.append(("second", data.team))

    state.add_hook("after_deploy", first)
    state.add_hook("after_deploy", second)
    state.add_hook("after_deploy", first)  # once only
    state.call_hooks("after_deploy")
    assert calls == [("first", "ops"), ("second", "ops")]


def test_a_hook_raising_names_its_file_and_line():
    from pyinfra.api.exceptions import DeployFileError

    state = State(Inventory((["h"], {})))

    def broken(data, state):
        return 1 / 0

    state.add_hook("before_facts", broken)
    try:
        state.call_hooks("before_facts")
    except DeployFileError as error:
        assert "test_hooks.py, line" in str(error) and "ZeroDivisionError" in str(error)
    else:
        raise AssertionError("the hook's error was lost")


def test_api_calls_before_connect_all_say_so():
    import pytest

    from pyinfra.api.exceptions import PyinfraError
    from pyinfra.api.facts import get_facts
    from pyinfra.api.operation import add_limited_op, add_op
    from pyinfra.modules import server

    state = State(Inventory((["h"], {})))
    with pytest.raises(PyinfraError, match=r"add_op: no host is connected yet; call connect_all\(state\)"):
        add_op(state, server.shell, "true")
    with pytest.raises(PyinfraError, match="add_limited_op: no host is connected yet"):
        add_limited_op(state, server.shell, state.inventory["h"], "true")
    with pytest.raises(PyinfraError, match="get_facts: no host is connected yet"):
        get_facts(state, "os")


def test_local_shell_failure_carries_its_result():
    """local.shell's error is a CommandFailed holding what the command did."""
    from pyinfra import local
    from pyinfra.api.exceptions import CommandFailed

    try:
        local.shell("echo out; echo err >&2; exit 3")
    except CommandFailed as error:
        assert error.result.exit_code == 3
        assert error.result.stdout == ["out"] and error.result.stderr == ["err"]
        assert str(error) == "local command failed (exit status 3): echo out; echo err >&2; exit 3\n  err"
    else:
        raise AssertionError("no error")
