"""Every operation case in tests/operations/<module>.<op>/<case>.json: arguments and facts
in, the commands it yields (or the error it raises) out.

A case: {"args": [...], "kwargs": {...}, "facts": {...}, "commands": [...]} or, instead
of "commands", "exception": {"name": ..., "message": ...}. Facts that take arguments are
given as {"arg1,arg2": value}. Uploads appear as "upload <src> -> <dest>"; an optional
"uploads": {dest: text} checks the content of uploads made from bytes.
"""

from __future__ import annotations

import glob
import importlib
import json
import os
from datetime import datetime

import pytest

from pyinfra.api import Config, FileUploadCommand, exceptions
from pyinfra.api.facts import get_fact_class

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CASES = sorted(glob.glob(os.path.join(HERE, "operations", "*.*", "*.json")))
# The deploy directory of every case, relative to the repository root: fixtures and
# templates, and upload sources that read the same on every checkout.
DEPLOY_DIR = os.path.join("tests", "operations", "files")

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
    def __init__(self):
        self.deploy_dir = DEPLOY_DIR
        self.inventory = []
        self.config = Config()


def case_id(path: str) -> str:
    return os.path.relpath(path, os.path.join(HERE, "operations"))


def load_operation(directory: str):
    module_name, op_name = directory.split(".", 1)
    module = importlib.import_module(f"pyinfra.modules.{module_name}")
    return getattr(module, op_name)


@pytest.mark.parametrize("path", CASES, ids=[case_id(p) for p in CASES])
def test_operation(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    with open(path) as handle:
        case = json.load(handle)
    op = load_operation(os.path.basename(os.path.dirname(path)))
    host = FakeHost(case.get("facts", {}), case.get("data", {"env": "test"}))
    args, kwargs = case.get("args", []), case.get("kwargs", {})

    def run():
        return list(op.operation_function(FakeState(), host, *args, **kwargs))

    if "exception" in case:
        expected = case["exception"]
        with pytest.raises(getattr(exceptions, expected["name"])) as info:
            run()
        assert str(info.value) == expected["message"]
        return

    commands = run()
    assert [str(command) for command in commands] == case["commands"]
    uploaded = {
        c.dest: c.src.decode()
        for c in commands
        if isinstance(c, FileUploadCommand) and isinstance(c.src, bytes)
    }
    assert uploaded == case.get("uploads", {})


def test_cases_cover_every_operation():
    """Each operation of this subset has cases; a new operation without them fails here."""
    wanted = {
        "server.shell",
        "server.group",
        "server.user",
        "files.put",
        "files.template",
        "files.file",
        "files.directory",
        "files.link",
        "files.line",
        "apt.packages",
        "yum.packages",
    }
    have = {os.path.basename(os.path.dirname(path)) for path in CASES}
    assert wanted <= have
    for name in have:
        assert getattr(load_operation(name), "is_operation", False), name
