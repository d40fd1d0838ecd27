"""files.block (issue 23) through the real `pyinfra` command, over the test sshd as the
non-root login pyinfra-t-sudo with sudo: blocks added, left alone on the second run,
rewritten in place, removed; a root file keeps its owner and mode; a secret in a block
is *** in the diff; a link planted where sudo writes is not followed."""

import os
import re
import subprocess

from support.users import NOSUDO
from test_e2e_diff import diff_block

HOST = "127.0.0.2"
HOSTS_BEFORE = "127.0.0.1 localhost\n::1 localhost\n"
SECRET = "Blk-Sekret-4471"

DEPLOY = """
from pyinfra import secret
from pyinfra.modules import files
f = '{path}'
files.block(f, {content!r}, line='^127\\\\.0\\\\.0\\\\.1', after=True)
files.block(f, ['token=' + secret({secret!r})], marker='## {{mark}} TOKEN ##', present={token})
files.block(f, 'first line', before=True, begin='TOP', end='/TOP')
"""


def counts(output: str) -> tuple[int, int]:
    match = re.search(r" 0 failed: ([0-9]+) operations, ([0-9]+) changed", output)
    assert match, output
    return int(match.group(1)), int(match.group(2))


def deploy(path, content="10.0.0.1 mars\n10.0.0.2 venus", token=True):
    return DEPLOY.format(path=path, content=content, secret=SECRET, token=token)


def test_blocks_converge_over_ssh_with_sudo(pyinfra_as, deploy_dir, public_dir):
    path = public_dir / "hosts"
    path.write_text(HOSTS_BEFORE)
    path.chmod(0o600)  # root's: only sudo reads and writes it
    root = deploy_dir({"inventory.py": f"HOSTS = [{HOST!r}]\n", "deploy.py": deploy(path)})
    run = pyinfra_as("pyinfra-t-sudo")
    wanted = (
        "# TOP PYINFRA BLOCK\nfirst line\n# /TOP PYINFRA BLOCK\n"
        "127.0.0.1 localhost\n"
        "# BEGIN PYINFRA BLOCK\n10.0.0.1 mars\n10.0.0.2 venus\n# END PYINFRA BLOCK\n"
        f"::1 localhost\n## BEGIN TOKEN ##\ntoken={SECRET}\n## END TOKEN ##\n"
    )
    for changed in (3, 0):
        result = run("inventory.py", "deploy.py", "--sudo", cwd=root)
        assert result.returncode == 0, result.output
        assert counts(result.output) == (3, changed)
        assert SECRET not in result.output
        assert path.read_text() == wanted
        assert path.stat().st_uid == 0 and oct(path.stat().st_mode & 0o777) == "0o600"
        assert sorted(os.listdir(public_dir)) == ["hosts"]  # no temporary file left

    # New content: the block is rewritten where it stands; the token block removed.
    (root / "deploy.py").write_text(deploy(path, content="10.0.0.3 pluto", token=False))
    wanted = (
        "# TOP PYINFRA BLOCK\nfirst line\n# /TOP PYINFRA BLOCK\n"
        "127.0.0.1 localhost\n# BEGIN PYINFRA BLOCK\n10.0.0.3 pluto\n# END PYINFRA BLOCK\n::1 localhost\n"
    )
    for changed in (2, 0):
        result = run("inventory.py", "deploy.py", "--sudo", cwd=root)
        assert result.returncode == 0, result.output
        assert counts(result.output) == (3, changed)
        assert path.read_text() == wanted
        assert path.stat().st_uid == 0 and oct(path.stat().st_mode & 0o777) == "0o600"


def test_block_diff_masks_the_secret_and_changes_nothing(pyinfra, deploy_dir, tmp_path):
    path, other = tmp_path / "hosts", tmp_path / "token.conf"
    path.write_text(HOSTS_BEFORE)
    other.write_text("a\n")
    # One block per file: a second block of a file is decided when it runs, after the first.
    lines = deploy(path).splitlines()
    lines[-2] = lines[-2].replace("files.block(f,", f"files.block('{other}',")
    root = deploy_dir({"inventory.py": f"HOSTS = [{HOST!r}]\n", "deploy.py": "\n".join(lines[:-1])})
    result = pyinfra("inventory.py", "deploy.py", "--dry", "--diff", cwd=root)
    assert result.returncode == 0, result.output
    assert SECRET not in result.output
    assert diff_block(result.stdout, f"--- {HOST}:{path}")[:9] == [
        f"--- {HOST}:{path}",
        f"+++ {HOST}:{path}",
        "@@ -1,2 +1,6 @@",
        " 127.0.0.1 localhost",
        "+# BEGIN PYINFRA BLOCK",
        "+10.0.0.1 mars",
        "+10.0.0.2 venus",
        "+# END PYINFRA BLOCK",
        " ::1 localhost",
    ]
    assert diff_block(result.stdout, f"--- {HOST}:{other}") == [
        f"--- {HOST}:{other}",
        f"+++ {HOST}:{other}",
        "@@ -1 +1,4 @@",
        " a",
        "+## BEGIN TOKEN ##",
        "+token=***",
        "+## END TOKEN ##",
    ]
    assert path.read_text() == HOSTS_BEFORE and other.read_text() == "a\n"


def as_other_user(*command):
    user = [f"--reuid={NOSUDO}", f"--regid={NOSUDO}", "--clear-groups"]
    subprocess.run(["setpriv", *user, *command], check=True)


def test_links_planted_where_sudo_writes_are_not_followed(pyinfra_as, deploy_dir, public_dir, tmp_path):
    """Another user of the host can write the directory: a link they plant at the
    block's temporary name is removed, not written through; a link at the file itself
    is refused."""
    from pyinfra.modules.files._block import block_commands, markers

    victim = tmp_path / "victim"
    victim.write_text("root's own\n")
    path = public_dir / "app.conf"
    path.write_text("a\n")
    path.chmod(0o644)
    begin, end = markers(None, None, None)
    info = {"user": "root", "group": "root", "mode": 644}
    temp = block_commands(str(path), info, begin, end, ["x"], None, "after")[-1].split()[2]
    as_other_user("ln", "-s", str(victim), temp)
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = [{HOST!r}]\n",
            "deploy.py": f"from pyinfra.modules import files\nfiles.block('{path}', 'x')\n",
        }
    )
    run = pyinfra_as("pyinfra-t-sudo")
    result = run("inventory.py", "deploy.py", "--sudo", cwd=root)
    assert result.returncode == 0, result.output
    assert path.read_text() == f"a\n{begin}\nx\n{end}\n" and not path.is_symlink()
    assert victim.read_text() == "root's own\n"

    path.unlink()
    as_other_user("ln", "-s", str(victim), str(path))
    result = run("inventory.py", "deploy.py", "--sudo", cwd=root)
    assert result.returncode != 0
    assert "exists and is not a file" in result.output and "Traceback" not in result.output
    assert victim.read_text() == "root's own\n"
