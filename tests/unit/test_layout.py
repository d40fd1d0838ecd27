"""The engine's shape (shared/ARCHITECTURE.md), checked from the source: imports inside
pyinfra.api point one way, with no cycle, not even through an import inside a
function; the model and the connectors know nothing of the phases above them."""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
API = os.path.join(ROOT, "pyinfra", "api")

# What each layer may import inside pyinfra.api, besides itself. Facades (pyinfra 0.1's
# module names: api/ssh.py, api/operations.py, and the package's __init__) sit on top.
FACADES = {"pyinfra.api", "pyinfra.api.ssh", "pyinfra.api.operations"}
LAYERS = [
    ("pyinfra.api.run", {"pyinfra.api.connectors", "model"}),
    ("pyinfra.api.operation", {"pyinfra.api.build", "model"}),
    ("pyinfra.api.build", {"model"}),
    ("pyinfra.api.connectors", {"model"}),
]


def module_name(path):
    relative = os.path.relpath(path, ROOT)[: -len(".py")].replace(os.sep, ".")
    return relative[: -len(".__init__")] if relative.endswith(".__init__") else relative


def api_modules():
    for directory, _, files in os.walk(API):
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(directory, name)


def imports_of(path):
    """Every pyinfra.api module the file imports, at any depth of its code, except under
    `if TYPE_CHECKING:` (annotations only, never at run time). `from pyinfra.api import
    context` imports the module context, not what the package's __init__ holds."""
    tree = ast.parse(open(path).read())
    name = module_name(path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    known = {module_name(p) for p in api_modules()}
    found = set()

    def visit(node):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {other for other in found if other in known and other != name}


def layer_of(name):
    if name in FACADES:
        return "facade"
    for layer, _ in LAYERS:
        if name == layer or name.startswith(layer + "."):
            return layer
    return "model"


def graph():
    return {module_name(path): imports_of(path) for path in api_modules()}


def test_imports_point_down_the_phases():
    allowed = dict(LAYERS)
    wrong = []
    for module, imported in graph().items():
        mine = layer_of(module)
        if mine == "facade":
            continue
        for other in imported:
            theirs = layer_of(other)
            if theirs == mine:
                continue
            if theirs == "facade" or (mine == "model" or theirs not in allowed[mine]):
                wrong.append(f"{module} ({mine}) imports {other} ({theirs})")
    assert not wrong, "\n".join(sorted(wrong))


def cycles(edges):
    """Each import cycle of `edges` ({module: {imported}}), as the list of its modules."""
    found, done, path = [], set(), []

    def walk(module):
        if module in path:
            found.append(path[path.index(module) :] + [module])
            return
        if module in done:
            return
        path.append(module)
        for other in sorted(edges.get(module, ())):
            walk(other)
        path.pop()
        done.add(module)

    for module in sorted(edges):
        walk(module)
    return found


def test_no_import_cycle_in_the_engine():
    edges = graph()
    # A package's __init__ naming what its own modules hold is not a cycle of the code.
    for module in edges:
        edges[module] = {
            o
            for o in edges[module]
            if not (module.startswith(o + ".") and o in FACADES | {layer for layer, _ in LAYERS})
        }
    found = [" -> ".join(cycle) for cycle in cycles(edges)]
    assert not found, "\n".join(found)


def test_the_checks_see_cycles_and_imports_inside_functions(tmp_path):
    """Imports inside functions count; TYPE_CHECKING blocks do not; a cycle is found."""
    path = tmp_path / "mod.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pyinfra.api.run import steps\n"
        "def f():\n    from pyinfra.api.build import builder\n"
    )
    found = imports_of(str(path))
    assert "pyinfra.api.build.builder" in found
    assert not any(name.startswith("pyinfra.api.run") for name in found)
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_source_file_is_ignored_by_git():
    """A module git ignores is missing from every clone (api/build/ once was, through a
    `build/` line meant for the root's build directory)."""
    import subprocess

    listed = subprocess.run(
        ["git", "-C", ROOT, "ls-files", "--others", "--ignored", "--exclude-standard", "pyinfra", "scripts"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not [path for path in listed if "__pycache__" not in path], listed


def test_a_module_split_into_a_package_keeps_its_name():
    """files.line lives in pyinfra.modules.files (or a file of that package): it is
    `files.line`, shown as Files/Line, wherever the package keeps it."""
    from pyinfra.api.operation.callsite import module_of, operation_name

    def line(state, host, path, text):
        yield "true"

    for module, name in (
        ("pyinfra.modules.files", "files"),
        ("pyinfra.modules.files.lines", "files"),
        ("pyinfra_user_deploy", "pyinfra_user_deploy"),
        ("roles.app", "app"),
    ):
        line.__module__ = module
        assert module_of(line) == name
    line.__module__ = "pyinfra.modules.files.lines"
    assert operation_name(line, ("/etc/hosts", "x"), {}) == "Files/Line (/etc/hosts, x)"
