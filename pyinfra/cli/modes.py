"""The pipeline cut short: --run (one operation), --fact, --facts, --debug-data,
--debug-state. Machine-readable results are one JSON object on stdout."""

from __future__ import annotations

import difflib
import importlib
import json
import pkgutil
import re
from typing import Any

import click

from pyinfra.api.build import build
from pyinfra.api.exceptions import FactError, OperationError, UsageError
from pyinfra.api.facts import FACTS, get_fact_class, load_all_facts
from pyinfra.api.secrets import mask_data, mask_shown, mask_value
from pyinfra.api.state import State
from pyinfra.cli.load import parse_value
from pyinfra.cli.output import Printer, echo_json, shown


def to_json(value: Any) -> Any:
    """A value as JSON can carry it: unknown objects become their repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    return repr(value)


def emit(value: Any) -> None:
    """One JSON document on stdout; secret values in it are shown as ***."""
    echo_json(mask_shown(value))


# -- --debug-data --------------------------------------------------------------------


def debug_data(state: State, printer: Printer) -> int:
    """Each host's groups, and for every data key its value and the layer it came from."""
    out = {}
    for host in state.targets:
        keys = sorted(host.data.dict())
        out[host.name] = {
            "groups": host.groups,
            "data": {
                key: {"value": to_json(mask_value(key, host.data.get(key))), "source": host.data.source(key)}
                for key in keys
            },
        }
    emit(out)
    return 0


# -- --fact ----------------------------------------------------------------------------


def parse_facts(specs: list[str]) -> list[tuple[str, str, tuple]]:
    """`name` or `name:arg1,arg2` -> (label, name, args), checked before connecting."""
    facts = []
    for spec in specs:
        name, _, rest = spec.partition(":")
        args = tuple(rest.split(",")) if rest else ()
        try:
            cls = get_fact_class(name)
        except FactError as error:
            raise UsageError(str(error)) from None
        wanted = cls.argument_names()
        if len(args) != len(wanted):
            form = f"{name}:{','.join(wanted)}" if wanted else name
            raise UsageError(f"fact {name} takes {len(wanted)} argument(s): write --fact {form}")
        facts.append((spec, name, args))
    return facts


def print_facts(state: State, facts: list[tuple[str, str, tuple]], printer: Printer) -> int:
    """One fact: {host: value}, as 0.1 printed it. Several: {host: {label: value}}. A
    host that could not answer has {"error": why} in either form, and the exit code is 1."""
    out: dict[str, Any] = {}
    for host in state.targets:
        out[host.name] = {}
    for label, name, args in facts:
        state.facts.get_many(state.active_hosts(), name, args)
        for host in state.active_hosts():
            out[host.name][label] = to_json(host.get_fact(name, *args))
    failed = False
    for host in state.targets:
        if state.results[host].failed:
            failed = True
            out[host.name] = {"error": state.results[host].error}
        elif len(facts) == 1:
            out[host.name] = out[host.name].get(facts[0][0])
    emit(out)
    return 1 if failed else 0


def list_facts() -> None:
    load_all_facts()
    for name in sorted(FACTS):
        cls = FACTS[name]
        args = cls.argument_names()
        signature = f"{name}({', '.join(args)})" if args else name
        doc = (cls.__doc__ or "").strip().splitlines()
        click.echo(shown(f"{signature:40} {doc[0] if doc else ''}"))


# -- --run -----------------------------------------------------------------------------

OP_NAME = re.compile(r"^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)$")


def find_operation(module_name: str, op_name: str):
    import pyinfra.modules

    modules = [m.name for m in pkgutil.iter_modules(pyinfra.modules.__path__)]
    if module_name not in modules:
        close = difflib.get_close_matches(module_name, modules, n=3)
        hint = f" (did you mean: {', '.join(close)}?)" if close else ""
        raise UsageError(f"unknown module: {module_name}{hint}")
    module = importlib.import_module(f"pyinfra.modules.{module_name}")
    ops = [n for n, v in vars(module).items() if getattr(v, "is_operation", False)]
    if op_name not in ops:
        close = difflib.get_close_matches(op_name, ops, n=3)
        hint = f" (did you mean: {', '.join(f'{module_name}.{c}' for c in close)}?)" if close else ""
        raise UsageError(f"unknown operation: {module_name}.{op_name}{hint}")
    return getattr(module, op_name)


def parse_run(run: str, words: list[str]):
    """`--run 'uptime'` is a shell command; `--run module.op ARG... key=value...` is one
    operation, values parsed as JSON where they are JSON."""
    match = OP_NAME.match(run)
    if not match:
        if words:
            raise UsageError(f"--run {run!r}: extra arguments {words} (quote the whole command)")
        from pyinfra.modules import server

        return server.shell, [run], {}
    operation = find_operation(*match.groups())
    args, kwargs = [], {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep and re.match(r"^[a-z_][a-z0-9_]*$", key):
            kwargs[key] = parse_value(value)
        else:
            refuse_v01_argstring(run, word)
            if kwargs:
                raise UsageError(f"--run {run}: positional argument {word!r} after key=value ones")
            args.append(parse_value(word))
    return operation, args, kwargs


def refuse_v01_argstring(run: str, word: str) -> None:
    """0.1 took ARGS as one comma-separated word (`fred,home=/home/fred`, `[a,b]` for a
    list). Read as one value it would silently name a user or a path `fred,home=...`;
    stop with the spelling this version reads instead."""
    if not isinstance(parse_value(word), str):
        return  # JSON: a list or dict of this version's spelling
    if re.search(r",\s*[a-z_][a-z0-9_]*=", word):
        spelled = " ".join(part.strip() for part in word.split(","))
        raise UsageError(
            f"--run {run}: {word!r} is 0.1's comma-separated ARGS; give each argument as its "
            f"own word: --run {run} {spelled}"
        )
    if word.startswith("[") and word.endswith("]"):
        items = [item.strip() for item in word[1:-1].split(",") if item.strip()]
        raise UsageError(
            f"--run {run}: {word!r} is not a JSON list; write lists as JSON: '{json.dumps(items)}'"
        )


def build_one(state: State, operation, args: list, kwargs: dict) -> None:
    try:
        build(state, lambda host: operation(*args, **dict(kwargs)))
    except OperationError as error:
        raise UsageError(str(error)) from None


# -- --debug-state ---------------------------------------------------------------------


def debug_state(state: State, printer: Printer) -> int:
    ops = []
    for key in state.op_order:
        meta = state.op_meta[key]
        hosts = {
            host.name: [str(c) for c in state.host_ops[host][key].commands]
            for host in state.targets
            if key in state.host_ops[host]
        }
        # Commands planned from facts read before the run, made again when it runs.
        dependent = sorted(
            host.name
            for host in state.targets
            if key in state.host_ops[host] and state.host_ops[host][key].dependent
        )
        ops.append(
            {
                "name": meta.name,
                "location": meta.location,
                "global_arguments": to_json(mask_data(meta.global_kwargs)),
                "hosts": hosts,
                "dependent_hosts": dependent,
            }
        )
    emit({"operations": ops})
    return 1 if state.failed_hosts() else 0
