"""pyinfra runs on every Python setup.py allows (3.9 and later): no syntax or call form
of a later Python in the package. (The suite itself runs on a newer Python; these read
the source the way 3.9 would.)"""

import ast
import pathlib
import re

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent.parent / "pyinfra"
SOURCES = sorted(PACKAGE.rglob("*.py"))

# Calls whose short forms came later: traceback's exception-only argument (3.10),
# zip(strict=) (3.10), dataclass(slots=, kw_only=) (3.10).
LATER_FORMS = {
    ("format_exception", 1): "traceback.format_exception(exc) is 3.10+: pass type, value, traceback",
    ("print_exception", 1): "traceback.print_exception(exc) is 3.10+: pass type, value, traceback",
}
MATCH = getattr(ast, "Match", ())  # the node exists from 3.10
LATER_KEYWORDS = {("zip", "strict"), ("dataclass", "slots"), ("dataclass", "kw_only")}


def test_python_requires_is_what_these_tests_check():
    setup = (PACKAGE.parent / "setup.py").read_text()
    assert re.search(r"python_requires=\">=3\.9\"", setup)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_source_is_python_3_9(path):
    source = path.read_text()
    tree = ast.parse(source, str(path), feature_version=(3, 9))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, MATCH):
            problems.append(f"line {node.lineno}: match statement")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if (name, len(node.args)) in LATER_FORMS and not node.keywords:
            problems.append(f"line {node.lineno}: {LATER_FORMS[name, len(node.args)]}")
        for keyword in node.keywords:
            if (name, keyword.arg) in LATER_KEYWORDS:
                problems.append(f"line {node.lineno}: {name}({keyword.arg}=) is 3.10+")
    uses_union = re.search(r"\b\w+ \| None\b|: \w+ \| \w+", source)
    if uses_union and "from __future__ import annotations" not in source:
        problems.append("X | Y annotations need `from __future__ import annotations` on 3.9")
    assert not problems, problems
