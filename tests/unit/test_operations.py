"""Every operation case in tests/cases/operations/<module>.<op>/<case>.json: arguments and facts
in, the commands it yields (or the error it raises) out.

A case: {"args": [...], "kwargs": {...}, "facts": {...}, "commands": [...]} or, instead
of "commands", "exception": {"name": ..., "message": ...}. Facts that take arguments are
given as {"arg1,arg2": value}. Uploads appear as "upload <src> -> <dest>", commands run
as the SSH login user without sudo as "(login) <command>"; an optional "uploads":
{dest: text} checks the content of uploads made from bytes, and "shown": [commands]
what the user sees of the commands (their secret parts masked). Optional:
"earlier": [commands] recorded for the host by earlier operations of the deploy, and
{"$function": "module:name"} anywhere in the arguments for a Python function.
A new password salt (postgresql.role) is 16 zero bytes in the cases.
"""

from __future__ import annotations

import glob
import importlib
import inspect
import json
import os
import pkgutil
from datetime import datetime

import pytest

import pyinfra.modules
from pyinfra.api import Config, FileUploadCommand, StringCommand, exceptions
from pyinfra.api.command import to_command
from pyinfra.api.facts import get_fact_class
from pyinfra.api.state import HostOperation

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CASES_DIR = os.path.join(os.path.dirname(HERE), "cases", "operations")
CASES = sorted(glob.glob(os.path.join(CASES_DIR, "*.*", "*.json")))
# The deploy directory of every case, relative to the repository root: fixtures and
# templates, and upload sources that read the same on every checkout.
DEPLOY_DIR = os.path.join("tests", "cases", "operations", "files")

# JSON cannot hold these values; the cases write them as strings.
FACT_DECODERS = {"date": datetime.fromisoformat}


class FakeData:
    def __init__(self, values: dict):
        self._values = values

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        return self._values.get(key)

    def __getitem__(self, key):
        return self._values.get(key)

    # As HostData: what templates need to tell a missing key from a None value.
    def get(self, key, default=None):
        return self._values.get(key, default)

    def source(self, key):
        return "host" if key in self._values else None

    def dict(self):
        return dict(self._values)


class FakeFacts:
    """`host.fact`: values from the case; a fact it does not give is the fact's default."""

    def __init__(self, facts: dict):
        self._facts = facts

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        cls = get_fact_class(name)
        default = cls().default_value()
        decode = FACT_DECODERS.get(name, lambda value: value)
        if not cls.takes_arguments():
            return decode(self._facts[name]) if name in self._facts else default

        def call(*args):
            assert len(args) <= len(cls.argument_names()), f"fact {name} given {args}"
            values = self._facts.get(name, {})
            key = ",".join(str(arg) for arg in args)
            return decode(values[key]) if key in values else default

        return call


class FakeHost:
    name = "fakehost"

    def __init__(self, facts: dict, data: dict):
        self.fact = FakeFacts(facts)
        self.data = FakeData(data)
        self.groups = []

    def __str__(self):
        return self.name


class FakeState:
    def __init__(self, host=None, earlier=()):
        self.deploy_dir = DEPLOY_DIR
        self.inventory = []
        self.config = Config()
        self.host_ops = {host: {"earlier": HostOperation(list(earlier), {})}} if earlier else {}


def decode(value):
    """Arguments JSON cannot hold: {"$function": "module:name"}."""
    if isinstance(value, dict):
        if set(value) == {"$function"}:
            module, _, name = value["$function"].partition(":")
            return getattr(importlib.import_module(module), name)
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def sample_callback(state, host, *args, **kwargs):
    """A python.execute callback for the cases."""


def shown(command) -> str:
    """A command as the cases write it, as it is sent: "(login) " before one run as the
    SSH login user without the operation's sudo (StringCommand.login)."""
    text = command.command if isinstance(command, StringCommand) else str(command)
    return f"(login) {text}" if getattr(command, "login", False) else text


def case_id(path: str) -> str:
    return os.path.relpath(path, CASES_DIR)


def load_operation(directory: str):
    module_name, op_name = directory.split(".", 1)
    module = importlib.import_module(f"pyinfra.modules.{module_name}")
    return getattr(module, op_name)


@pytest.mark.parametrize("path", CASES, ids=[case_id(p) for p in CASES])
def test_operation(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr("pyinfra.modules._passwords.new_salt", lambda: bytes(16))
    # Temporary names carry a random tag per run (_files.RUN_TAG): a fixed one here.
    monkeypatch.setattr("pyinfra.modules._files.RUN_TAG", "5eed5eed5eed")
    with open(path) as handle:
        case = json.load(handle)
    op = load_operation(os.path.basename(os.path.dirname(path)))
    host = FakeHost(case.get("facts", {}), case.get("data", {"env": "test"}))
    args, kwargs = decode(case.get("args", [])), decode(case.get("kwargs", {}))
    earlier = [to_command(c) for c in case.get("earlier", [])]

    def run():
        return list(op.operation_function(FakeState(host, earlier), host, *args, **kwargs))

    if "exception" in case:
        expected = case["exception"]
        with pytest.raises(getattr(exceptions, expected["name"])) as info:
            run()
        assert str(info.value) == expected["message"]
        return

    commands = run()
    assert [shown(command) for command in commands] == case["commands"]
    if "shown" in case:  # what the user sees of them: secret parts as ***
        assert [str(command) for command in commands] == case["shown"]
    uploaded = {
        c.dest: c.src.decode()
        for c in commands
        if isinstance(c, FileUploadCommand) and isinstance(c.src, bytes)
    }
    assert uploaded == case.get("uploads", {})


def all_operations() -> list[str]:
    names = []
    for info in pkgutil.iter_modules(pyinfra.modules.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"pyinfra.modules.{info.name}")
        names += [f"{info.name}.{n}" for n, v in vars(module).items() if getattr(v, "is_operation", False)]
    return sorted(names)


def test_cases_cover_every_operation():
    """Every operation has cases; a new operation without them fails here."""
    have = {os.path.basename(os.path.dirname(path)) for path in CASES}
    assert set(all_operations()) <= have
    for name in have:
        assert getattr(load_operation(name), "is_operation", False), name


# The whole pyinfra 0.1 set, with its arguments (after state and host).
SIGNATURES = {
    "server.wait": "(port=None)",
    "server.shell": "(commands, chdir=None)",
    "server.script": "(filename, chdir=None)",
    "server.group": "(name, present=True, system=False)",
    "server.user": "(name, present=True, home=None, shell=None, group=None, groups=None, "
    "public_keys=None, delete_keys=False, ensure_home=True, system=False)",
    "files.download": "(source_url, destination, user=None, group=None, mode=None, cache_time=None, "
    "force=False)",
    "files.line": "(name, line, present=True, replace=None, flags=None)",
    "files.replace": "(name, match, replace, flags=None)",
    "files.sync": "(source, destination, user=None, group=None, mode=None, delete=False)",
    "files.put": (
        "(local_filename, remote_filename, user=None, group=None, mode=None, add_deploy_dir=True,"
        " create_remote_dir=True)"
    ),
    "files.template": (
        "(template_filename, remote_filename, user=None, group=None, mode=None,"
        " create_remote_dir=True, **data)"
    ),
    "files.link": "(name, target=None, present=True, user=None, group=None, symbolic=True)",
    "files.file": "(name, present=True, user=None, group=None, mode=None, touch=False, permissions=None)",
    "files.directory": "(name, present=True, user=None, group=None, mode=None, recursive=False)",
    "apt.key": "(key=None, keyserver=None, keyid=None)",
    "apt.repo": "(name, present=True, filename=None)",
    "apt.ppa": "(name, present=True)",
    "apt.deb": "(source, present=True)",
    "apt.update": "(touch_periodic=False)",
    "apt.upgrade": "()",
    "apt.packages": "(packages=None, present=True, latest=False, update=False, cache_time=None, "
    "upgrade=False)",
    "yum.key": "(key)",
    "yum.repo": "(name, baseurl, present=True, description=None, gpgcheck=True, enabled=True)",
    "yum.rpm": "(source, present=True)",
    "yum.upgrade": "()",
    "yum.packages": "(packages=None, present=True, latest=False, upgrade=False, clean=False)",
    "init.d": "(name, running=True, restarted=False, reloaded=False, enabled=None, command=None)",
    "init.d_enable": "(name, start_priority=20, stop_priority=80, start_levels=(2, 3, 4, 5), "
    "stop_levels=(0, 1, 6))",
    "init.rc": "(name, running=True, restarted=False, reloaded=False, command=None, enabled=None)",
    "init.upstart": "(name, running=True, restarted=False, reloaded=False, command=None, enabled=None)",
    "init.systemd": "(name, running=True, restarted=False, reloaded=False, command=None, enabled=None)",
    "git.repo": "(source, target, branch='master', pull=True, rebase=False, user=None, group=None, "
    "use_ssh_user=False, ssh_keyscan=False)",
    "pip.packages": "(packages=None, present=True, latest=False, requirements=None, virtualenv=None)",
    "npm.packages": "(packages=None, present=True, latest=False, directory=None)",
    "gem.packages": "(packages=None, present=True, latest=False)",
    "pkg.packages": "(packages=None, present=True, pkg_path=None)",
    "python.execute": "(callback, *args, **kwargs)",
}


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_operation_signatures(name):
    """Deploys written for 0.1 call these with these arguments, by name or position."""
    op = load_operation(name)
    params = list(inspect.signature(op.operation_function).parameters.values())
    assert [p.name for p in params[:2]] == ["state", "host"]
    assert str(inspect.Signature(params[2:])) == SIGNATURES[name]


def test_every_operation_documents_each_argument():
    for name in all_operations():
        op = load_operation(name)
        params = list(inspect.signature(op.operation_function).parameters)[2:]
        documented = [
            line.strip()[2:].split(":")[0]
            for line in op.__doc__.splitlines()
            if line.strip().startswith("+ ")
        ]
        assert documented == params, name


def test_python_execute_passes_its_arguments():
    calls = []

    def callback(state, host, *args, **kwargs):
        calls.append((state, host, args, kwargs))

    op = load_operation("python.execute")
    host, state = FakeHost({}, {}), FakeState()
    (command,) = op.operation_function(state, host, callback, "a", 2, flag=True)
    command.function(state, host, *command.args, **command.kwargs)
    assert calls == [(state, host, ("a", 2), {"flag": True})]
