"""The reference pages are generated from the docstrings: a stale page fails here; and
docs/cli.md lists every option `pyinfra --help` shows."""

import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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


# ---------------------------------------------------------------------------
# References between pages: README.md and docs/**/*.md point at files and sections
# that exist.
# ---------------------------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# A path of the repository written in prose: docs/cli.md, scripts/bench, .ci/run...
REPO_PATH = re.compile(r"(?<![\w./~-])((?:docs|tests|scripts|examples|pyinfra|\.ci)/[\w./-]*[\w/])")
# "docs/deploys.md, Secrets" or "docs/guide.md, section Preview": a section of that page,
# its heading's text up to the next ")", ",", ".", ";" or the end.
SECTION_AFTER = re.compile(r"((?:docs|examples)/[\w./-]*\.md), (?:section )?([A-Z][\w:' -]*?)(?=[),.;]|$)")
# '"Supported hosts" in docs/deploys.md'
SECTION_BEFORE = re.compile(r'"([^"\n]+)" in ((?:docs|examples)/[\w./-]*\.md)')


def doc_pages(root: str) -> list[str]:
    pages = [os.path.join(root, "README.md")]
    for directory, _, names in os.walk(os.path.join(root, "docs")):
        pages += [os.path.join(directory, name) for name in sorted(names) if name.endswith(".md")]
    return pages


def headings(page: str) -> list[str]:
    """The page's heading texts (backticks dropped), outside fenced code blocks."""
    found, fenced = [], False
    with open(page) as handle:
        for line in handle:
            if line.startswith("```"):
                fenced = not fenced
            elif not fenced and re.match(r"#{1,6} ", line):
                found.append(line.lstrip("#").strip().replace("`", ""))
    return found


def anchor(heading: str) -> str:
    """The id GitHub's renderer gives a heading: lower case, punctuation dropped,
    spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def broken_references(root: str) -> list[str]:
    """One line per reference in README.md and docs/ whose file or section is missing."""
    broken = []
    for page in doc_pages(root):
        name = os.path.relpath(page, root)
        with open(page) as handle:
            text = handle.read()
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            path, _, fragment = target.partition("#")
            linked = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            if not os.path.exists(linked):
                broken.append(f"{name}: link to {target}: no such file")
            elif fragment and fragment not in {anchor(h) for h in headings(linked)}:
                broken.append(f"{name}: link to {target}: no such heading")
        for path in REPO_PATH.findall(text):
            if not os.path.exists(os.path.join(root, path)):
                broken.append(f"{name}: {path}: no such file")
        flat = re.sub(r"\s+", " ", text)  # a reference may wrap across lines
        sections = SECTION_AFTER.findall(flat) + [(p, s) for s, p in SECTION_BEFORE.findall(flat)]
        for path, section in sections:
            target = os.path.join(root, path)
            if os.path.exists(target) and section.lower() not in {h.lower() for h in headings(target)}:
                broken.append(f"{name}: {path}, {section}: no such section")
    return broken


def test_every_reference_in_the_docs_resolves():
    assert broken_references(ROOT) == []


def test_broken_references_are_found(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(
        'See docs/guide.md and docs/gone.md; "Supported hosts" in docs/guide.md.\n'
        "Also [the guide](docs/guide.md#step-one) and [a typo](docs/guide.md#step-two).\n"
    )
    (tmp_path / "docs" / "guide.md").write_text(
        "# Guide\n\n## Step one\n\n```sh\n# Not a heading\n```\n\n"
        "Done (docs/guide.md, Step one); more in (docs/guide.md,\nNot a heading) and\n"
        "[the CLI](cli.md) and [here](#guide).\n"
    )
    assert broken_references(str(tmp_path)) == [
        "README.md: link to docs/guide.md#step-two: no such heading",
        "README.md: docs/gone.md: no such file",
        "README.md: docs/guide.md, Supported hosts: no such section",
        "docs/guide.md: link to cli.md: no such file",
        "docs/guide.md: docs/guide.md, Not a heading: no such section",
    ]
