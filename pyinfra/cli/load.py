"""Loading the user's files: inventory, group data, config.py and the deploy files."""

from __future__ import annotations

import ast
import contextlib
import glob
import inspect
import json
import os
import types
from dataclasses import dataclass, field

from pyinfra import hook
from pyinfra.api import context
from pyinfra.api.config import Config
from pyinfra.api.exceptions import InventoryError, UsageError
from pyinfra.api.inventory import Inventory, host_entry
from pyinfra.api.loader import compile_file, exec_code, exec_file, user_namespace
from pyinfra.api.secrets import is_secret_key, mask_data, mask_value


def is_group_name(name: str) -> bool:
    return name.isupper() and not name.startswith("_")


def masked_repr(entry) -> str:
    """repr of an inventory entry with secret data values hidden."""
    if isinstance(entry, (tuple, list)):
        return repr(type(entry)(masked_repr_value(item) for item in entry)).replace("'<masked>'", "***")
    return repr(entry)


def masked_repr_value(item):
    if isinstance(item, dict):
        return {k: ("<masked>" if is_secret_key(k) else mask_data(v)) for k, v in item.items()}
    return item


def parse_host_entry(entry, group: str, path: str) -> tuple[str, dict]:
    parsed = host_entry(entry)
    if parsed is not None:
        return parsed
    raise InventoryError(
        f"group {group.upper()}: {masked_repr(entry)} is not a host; write 'hostname' or "
        "('hostname', {'key': 'value'})",
        path,
    )


def load_inventory_file(path: str) -> tuple[dict[str, dict], dict[str, list[str]], str]:
    """Hosts (name -> data) and groups (lower-case name -> host names) of a file."""
    name = os.path.splitext(os.path.basename(path))[0]
    namespace = exec_file(path, user_namespace(path))
    hosts: dict[str, dict] = {}
    groups: dict[str, list[str]] = {}
    for attr, value in namespace.items():
        if not is_group_name(attr) or isinstance(value, (types.ModuleType, types.FunctionType, type)):
            continue
        if not isinstance(value, (list, tuple)):
            raise InventoryError(
                f"group {attr} is a {type(value).__name__}, not a list of hosts; write {attr} = [{value!r}]"
                if isinstance(value, str)
                else f"group {attr} is a {type(value).__name__}, not a list of hosts",
                path,
            )
        members = []
        for entry in value:
            hostname, data = parse_host_entry(entry, attr, path)
            known = hosts.setdefault(hostname, {})
            for key, item in data.items():
                if key in known and known[key] != item:
                    raise InventoryError(
                        f"host {hostname} has conflicting values for {key!r}: "
                        f"{mask_value(key, known[key])!r} and {mask_value(key, item)!r}",
                        path,
                    )
                known[key] = item
            if hostname not in members:
                members.append(hostname)
        groups[attr.lower()] = members
    if not hosts:
        raise InventoryError("no hosts: define groups as ALL_CAPS lists of hostnames", path)
    everyone = list(hosts)
    groups.setdefault("all", everyone)
    groups.setdefault(name, everyone)
    return hosts, groups, name


def load_inventory_spec(spec: str) -> tuple[dict[str, dict], dict[str, list[str]], str]:
    """INVENTORY on the command line: a file, `@local`, or comma-separated hostnames."""
    if spec.endswith(".py") or os.sep in spec:
        if not os.path.exists(spec):
            raise UsageError(f"inventory file not found: {spec}")
        return load_inventory_file(spec)
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise UsageError("no hosts given as INVENTORY")
    hosts = {n: {} for n in names}
    return hosts, {"all": list(names)}, "inventory"


def data_attributes(namespace: dict) -> dict:
    """The data of a group_data file: lower-case names not starting with `_`, without
    modules, functions, classes and what it imported from pyinfra (`inventory`)."""
    return {
        key: value
        for key, value in namespace.items()
        if not key.startswith("_")
        and key.islower()
        and key not in ("local", "HookError")
        and not isinstance(value, (types.ModuleType, types.FunctionType, type, context.ContextObject))
        and not inspect.isbuiltin(value)
    }


def load_group_data(directory: str, groups, initial: Inventory | None = None) -> dict[str, dict]:
    """The data of each group_data/<group>.py. While they run, `pyinfra.inventory` is
    `initial`: the inventory's hosts and groups, without group data (0.1's "initial
    inventory"), so a file can read `inventory.db_servers[0].name`."""
    group_data: dict[str, dict] = {}
    folder = os.path.join(directory, "group_data")
    paths = sorted(glob.glob(os.path.join(folder, "*.py")))
    with context.inventory.bind(initial) if initial is not None else contextlib.nullcontext():
        for path in paths:
            name = os.path.splitext(os.path.basename(path))[0]
            if name in groups:
                group_data[name] = data_attributes(exec_file(path, user_namespace(path)))
    return group_data


def parse_value(text: str):
    """A value from the command line: JSON where it is valid JSON, else the string.
    `True` and `False` are booleans too, as 0.1 read them: `present=False` must not be
    the (true) string "False"."""
    if text in ("True", "False"):
        return text == "True"
    try:
        return json.loads(text)
    except ValueError:
        return text


def is_literal(node) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def config_statements(tree: ast.Module) -> ast.Module:
    """The top of a deploy file that configures the run: imports, UPPER_CASE names,
    literal values and function and class definitions, so hooks and what they
    use are there. Operations are left for the build, when a host is bound."""
    keep = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            keep.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            upper = all(isinstance(t, ast.Name) and is_group_name(t.id) for t in targets)
            plain = is_literal(node.value)
            if upper or plain:
                keep.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            keep.append(node)
    return ast.Module(body=keep, type_ignores=[])


@dataclass
class Deploy:
    """What was loaded before anything connects."""

    inventory: Inventory
    config: Config
    deploy_dir: str
    deploy_files: list[tuple[str, object]] = field(default_factory=list)
    # Hooks config.py and the deploy files registered, name -> functions.
    hooks: dict = field(default_factory=dict)


def load_config(path: str, config: Config) -> None:
    namespace = exec_file(path, user_namespace(path))
    config.update({k: v for k, v in namespace.items() if is_group_name(k)})


def load_deploy_config(path: str, config: Config):
    """Compile a deploy file, apply its top-level config and register its hooks."""
    code = compile_file(path)
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    top = compile(config_statements(tree), path, "exec")
    namespace = exec_code(top, path, user_namespace(path))
    config.update({k: v for k, v in namespace.items() if is_group_name(k)})
    return code


def load(inventory_spec: str, deploy_paths: list[str], override_data: dict) -> Deploy:
    for path in deploy_paths:
        if not os.path.exists(path):
            raise UsageError(f"deploy file not found: {path}")
    hosts, groups, name = load_inventory_spec(inventory_spec)
    if deploy_paths:
        deploy_dir = os.path.dirname(os.path.abspath(deploy_paths[0]))
        data_dirs = [deploy_dir]
    else:
        inventory_dir = os.path.dirname(os.path.abspath(inventory_spec))
        deploy_dir = os.getcwd()
        data_dirs = [inventory_dir, os.path.dirname(inventory_dir), deploy_dir]
    data_dir = next((d for d in data_dirs if os.path.isdir(os.path.join(d, "group_data"))), None)
    initial = Inventory.from_layers(hosts, groups, name=name)
    group_data = load_group_data(data_dir, groups, initial) if data_dir else {}
    inventory = Inventory.from_layers(hosts, groups, group_data, override_data, name=name)

    config = Config()
    with hook.collect() as hooks:
        config_path = os.path.join(deploy_dir, "config.py")
        if os.path.exists(config_path):
            load_config(config_path, config)
        deploy = Deploy(inventory, config, deploy_dir, hooks=hooks)
        for path in deploy_paths:
            deploy.deploy_files.append((path, load_deploy_config(path, config)))
    return deploy
