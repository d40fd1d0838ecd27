"""files.line and files.replace given regular expressions converge (issue 22, point 3):
the second run of the same deploy changes nothing, and a deploy that could never
converge is refused before it runs. Through the real `pyinfra` command, on @local and
over SSH as a non-root login with sudo."""

import re

LINES_DEPLOY = """
from pyinfra.modules import files
f = '{path}'
files.line(f, '^nofile 65536$')
files.line(f, '^127\\\\.0\\\\.0\\\\.1$')
files.line(f, '^port=.*$', replace='port=8080')
files.line(f, '^debug=0$', replace='debug=1')
files.line(f, '^# managed')
files.replace(f, '^host=.*', 'host=127.0.0.1')
"""
BEFORE = "nofile 1024\nport=80\nhost=0.0.0.0\n"
AFTER = "nofile 1024\nport=8080\nhost=127.0.0.1\nnofile 65536\n127.0.0.1\ndebug=1\n# managed\n"


def counts(output: str) -> tuple[int, int]:
    match = re.search(r" 0 failed: ([0-9]+) operations, ([0-9]+) changed", output)
    assert match, output
    return int(match.group(1)), int(match.group(2))


def test_anchored_lines_and_replacements_converge_on_local(pyinfra, deploy_dir, tmp_path):
    path = tmp_path / "limits.conf"
    path.write_text(BEFORE)
    root = deploy_dir({"deploy.py": LINES_DEPLOY.format(path=path)})
    first = pyinfra("@local", "deploy.py", cwd=root)
    assert first.returncode == 0, first.output
    assert counts(first.output) == (6, 6)
    assert path.read_text() == AFTER
    second = pyinfra("@local", "deploy.py", cwd=root)
    assert second.returncode == 0, second.output
    assert counts(second.output) == (6, 0)
    assert path.read_text() == AFTER


def test_anchored_lines_converge_over_ssh_with_sudo(pyinfra_as, deploy_dir, public_dir):
    path = public_dir / "limits.conf"
    path.write_text(BEFORE)
    path.chmod(0o600)  # root's: only sudo reads and writes it
    root = deploy_dir(
        {
            "inventory.py": "HOSTS = ['127.0.0.2']\n",
            "deploy.py": LINES_DEPLOY.format(path=path),
        }
    )
    run = pyinfra_as("pyinfra-t-sudo")
    for changed in (6, 0):
        result = run("inventory.py", "deploy.py", "--sudo", cwd=root)
        assert result.returncode == 0, result.output
        assert counts(result.output) == (6, changed)
        assert path.read_text() == AFTER
        assert path.stat().st_uid == 0 and oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_regex_that_cannot_converge_is_refused_before_it_runs(pyinfra, deploy_dir, tmp_path):
    path = tmp_path / "app.ini"
    path.write_text("key=1\na\n")
    for call, message in (
        ("files.line(f, '^key=.*$')", "is a regular expression, not a line to add"),
        ("files.line(f, '*/5 * * * * cmd')", "would be added again on every deploy"),
        ("files.replace(f, 'a', 'aa')", "the file would change on every deploy"),
    ):
        root = deploy_dir({"deploy.py": f"from pyinfra.modules import files\nf = '{path}'\n{call}\n"})
        result = pyinfra("@local", "deploy.py", cwd=root)
        assert result.returncode != 0, result.output
        assert message in result.output, result.output
        assert "Traceback" not in result.output, result.output
        assert path.read_text() == "key=1\na\n"
