"""The reference pages are generated from the docstrings: a stale page fails here; and
docs/cli.md lists every option `pyinfra --help` shows."""

import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENDOCS = os.path.join(ROOT, "scripts", "gendocs")


def test_generated_docs_are_current():
    result = subprocess.run([sys.executable, GENDOCS, "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + "\nrun scripts/gendocs and commit the pages"


def test_check_names_stale_missing_and_extra_pages(tmp_path):
    shutil.copytree(os.path.join(ROOT, "docs"), tmp_path / "docs")
    check = [sys.executable, GENDOCS, "--check", "--root", str(tmp_path)]
    assert subprocess.run(check, capture_output=True).returncode == 0

    page = tmp_path / "docs" / "modules" / "files.md"
    page.write_text(page.read_text().replace("files.download", "files.fetch"))
    (tmp_path / "docs" / "modules" / "git.md").unlink()
    (tmp_path / "docs" / "modules" / "old.md").write_text("# old\n")
    result = subprocess.run(check, capture_output=True, text=True)
    assert result.returncode == 1
    for name in ("files.md", "git.md", "old.md"):
        assert f"docs/modules/{name}" in result.stderr

    subprocess.run([sys.executable, GENDOCS, "--root", str(tmp_path)], check=True, capture_output=True)
    assert subprocess.run(check, capture_output=True).returncode == 0
    assert not (tmp_path / "docs" / "modules" / "old.md").exists()


def test_every_operation_and_fact_has_a_section():
    with open(os.path.join(ROOT, "docs", "modules", "server.md")) as handle:
        server = handle.read()
    assert "## server.user" in server and "- `public_keys`:" in server
    with open(os.path.join(ROOT, "docs", "facts.md")) as handle:
        facts = handle.read()
    assert "### linux_distribution" in facts and "host.fact.find_in_file(name, pattern" in facts


def help_options() -> set[str]:
    """Every option name `pyinfra --help` lists (its Options section, not the epilog)."""
    result = subprocess.run(["pyinfra", "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    section = result.stdout.split("Options:", 1)[1]
    names = set()
    for line in section.splitlines():
        if not line.startswith("  -"):
            continue  # a wrapped help text, or the epilog (indented further)
        spelled = line.strip().split("  ")[0]  # "-u, --user TEXT"
        for part in spelled.split(", "):
            names.add(part.split(" ")[0])
    return names


def documented_options() -> set[str]:
    """The option names in the first column of docs/cli.md's options table."""
    with open(os.path.join(ROOT, "docs", "cli.md")) as handle:
        text = handle.read()
    table = text.split("## Options", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names.update(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", first))
    return names


def test_cli_doc_lists_every_option_of_help():
    shown, documented = help_options(), documented_options()
    assert len(shown) > 30 and "--sudo-password" in shown
    assert shown - documented == set(), "options --help shows that docs/cli.md does not list"
    # -vv is -v given twice; anything else in the table must be a real option.
    assert documented - shown - {"-vv"} == set(), "docs/cli.md lists options --help does not show"
