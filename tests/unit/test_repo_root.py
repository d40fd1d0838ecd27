"""The repository root holds what the project means to ship and nothing else: a stray
file there (an editor's leftover, a path written by a broken script) fails CI instead
of riding along in the next commit."""

import fnmatch
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Everything the root may hold besides .git and what .gitignore ignores. A new entry
# belongs here in the same commit that adds it.
EXPECTED = {
    ".ci",
    ".gitignore",
    "README.md",
    "docs",
    "examples",
    "pyinfra",
    "pyproject.toml",
    "scripts",
    "setup.py",
    "tests",
    "tox.ini",
}


def in_git_work_tree() -> bool:
    inside = subprocess.run(
        ["git", "-C", ROOT, "rev-parse", "--show-toplevel"], capture_output=True, text=True
    )
    return inside.returncode == 0 and os.path.samefile(inside.stdout.strip(), ROOT)


def ignored(paths: list[str], use_git: bool) -> set[str]:
    """Those of the root's paths (a directory's with a trailing "/") that git ignores
    (its rules: .gitignore, the user's excludes file); outside a git work tree, those
    the root .gitignore's patterns match. Returned without the "/"."""
    if use_git:
        # check-ignore exits 1 when nothing is ignored: that is not an error.
        result = subprocess.run(
            ["git", "-C", ROOT, "check-ignore", "--no-index", "--stdin"],
            input="\n".join(paths),
            capture_output=True,
            text=True,
        )
        assert result.returncode in (0, 1), result.stderr
        return {line.rstrip("/") for line in result.stdout.splitlines()}
    with open(os.path.join(ROOT, ".gitignore")) as handle:
        patterns = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    return {
        path.rstrip("/")
        for path in paths
        for pattern in patterns
        if fnmatch.fnmatch(path, pattern) or (path.endswith("/") and fnmatch.fnmatch(path, pattern + "/"))
    }


def root_entries() -> set[str]:
    names = [name for name in os.listdir(ROOT) if name != ".git"]
    paths = [name + "/" if os.path.isdir(os.path.join(ROOT, name)) else name for name in names]
    return set(names) - ignored(paths, in_git_work_tree())


def test_the_root_holds_only_the_expected_entries():
    entries = root_entries()
    assert entries - EXPECTED == set(), "unexpected at the repository root (remove it, or add it here)"
    assert EXPECTED - entries == set(), "expected at the repository root but missing"


@pytest.mark.parametrize("use_git", [True, False], ids=["git", "gitignore-patterns"])
def test_tool_caches_at_the_root_are_ignored(use_git):
    """pytest, ruff, hypothesis and pytest-benchmark leave caches where they run; those
    are not junk to remove by hand but must never show up as entries."""
    caches = [".pytest_cache/", ".ruff_cache/", ".hypothesis/", ".benchmarks/", "__pycache__/", "x.egg-info/"]
    assert ignored(caches + ["README.md", "docs/"], use_git) == {cache.rstrip("/") for cache in caches}
