"""`--diff`: what each change does to a file's content and attributes, shown as a
unified diff against the host's current content (issue 13), through the real command
against the test sshd."""

import hashlib
import os
import re

from test_e2e_terminal import run_on_terminal

HOST = "127.0.0.2"
HOSTS = ("127.0.0.2", "127.0.0.3")

TEN_LINES = "".join(f"line {n}\n" for n in range(1, 11))


def diff_block(output: str, header: str) -> list[str]:
    """The diff lines printed from `header` (the --- line) on, without the indentation
    that puts them under their host's line."""
    lines = [line[8:] if line.startswith(" " * 8) else None for line in output.splitlines()]
    start = lines.index(header)
    block = []
    for line in lines[start:]:
        if line is None or (block and line.startswith("--- ")):
            break
        block.append(line)
    return block


def reads_of(output: str, name: str) -> int:
    return len([line for line in output.splitlines() if f"[{name}] reading fact" in line])


def test_template_change_shows_exactly_its_hunk_and_leaves_the_file(pyinfra, deploy_dir, tmp_path):
    target = tmp_path / "remote" / "app.conf"
    target.parent.mkdir()
    target.write_text(TEN_LINES)
    template = TEN_LINES.replace("line 6\n", "line six = {{ host.data.six }}\n")
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = [{HOST!r}]\n",
            "group_data/all.py": "six = 6\n",
            "templates/app.conf.j2": template,
            "deploy.py": f"""
            from pyinfra.modules import files
            files.template('templates/app.conf.j2', '{target}')
            """,
        }
    )
    result = pyinfra("inventory.py", "deploy.py", "--dry", "--diff", cwd=root)
    assert result.returncode == 0, result.output
    assert diff_block(result.stdout, f"--- {HOST}:{target}") == [
        f"--- {HOST}:{target}",
        f"+++ {HOST}:{target}",
        "@@ -3,7 +3,7 @@",
        " line 3",
        " line 4",
        " line 5",
        "-line 6",
        "+line six = 6",
        " line 7",
        " line 8",
        " line 9",
    ]
    assert target.read_text() == TEN_LINES
    # Without --diff, no diff.
    plain = pyinfra("inventory.py", "deploy.py", "--dry", cwd=root)
    assert plain.returncode == 0, plain.output
    assert "@@" not in plain.output and f"--- {HOST}" not in plain.output


def test_new_file_is_all_added_and_mode_changes_are_lines(pyinfra, deploy_dir, tmp_path):
    remote = tmp_path / "remote"
    remote.mkdir()
    existing = remote / "existing"
    existing.write_text("same\n")
    os.chmod(existing, 0o644)
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = [{HOST!r}]\n",
            "files/new.txt": "first\nsecond\n",
            "files/existing": "same\n",
            "deploy.py": f"""
            from pyinfra.modules import files
            files.put('files/new.txt', '{remote}/sub/new.txt')
            files.put('files/existing', '{existing}', mode='600')
            files.link('{remote}/link', '{existing}')
            files.directory('{remote}', mode=700)
            """,
        }
    )
    os.symlink("/nowhere", remote / "link")
    # Colours allowed (NO_COLOR empty), yet none through a pipe.
    result = pyinfra("inventory.py", "deploy.py", "--dry", "--diff", cwd=root, env={"NO_COLOR": ""})
    assert result.returncode == 0, result.output
    assert "\x1b" not in result.output
    assert diff_block(result.stdout, "--- /dev/null") == [
        "--- /dev/null",
        f"+++ {HOST}:{remote}/sub/new.txt",
        "@@ -0,0 +1,2 @@",
        "+first",
        "+second",
    ]
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert f"{HOST}:{existing}: mode 0644 -> 0600" in lines, result.output
    mode = oct(os.stat(remote).st_mode & 0o777)[2:].zfill(4)
    assert f"{HOST}:{remote}: mode {mode} -> 0700" in lines, result.output
    assert f"{HOST}:{remote}/link: link target /nowhere -> {existing}" in lines, result.output
    assert not (remote / "sub").exists()
    assert oct(os.stat(existing).st_mode & 0o777) == "0o644"


def test_secret_in_a_template_is_masked_in_the_diff(pyinfra, deploy_dir, tmp_path):
    target = tmp_path / "db.conf"
    target.write_text("user = app\npassword = old-value\n")
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = [{HOST!r}]\n",
            "group_data/all.py": "db_password = 'hunter2-sekret'\n",
            "templates/db.conf.j2": "user = app\npassword = {{ host.data.db_password }}\n",
            "deploy.py": f"""
            from pyinfra.modules import files
            files.template('templates/db.conf.j2', '{target}')
            """,
        }
    )
    result = pyinfra("inventory.py", "deploy.py", "--dry", "--diff", cwd=root)
    assert result.returncode == 0, result.output
    assert "hunter2-sekret" not in result.output
    assert diff_block(result.stdout, f"--- {HOST}:{target}")[-2:] == [
        "-password = old-value",
        "+password = ***",
    ]


def test_diff_is_coloured_on_a_terminal(sshd, ssh_home, deploy_dir, tmp_path):
    target = tmp_path / "app.conf"
    target.write_text("old\n")
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = [{HOST!r}]\n",
            "files/app.conf": "new\n",
            "deploy.py": f"""
            from pyinfra.modules import files
            files.put('files/app.conf', '{target}')
            """,
        }
    )
    code, received = run_on_terminal(
        sshd.port, ssh_home, ["inventory.py", "deploy.py", "--dry", "--diff"], root
    )
    assert code == 0, received
    assert re.search(rb"\x1b\[31m(\x1b\[22m)?-old\x1b\[0m", received), received
    assert re.search(rb"\x1b\[32m(\x1b\[22m)?\+new\x1b\[0m", received), received


def test_binary_file_is_one_line(pyinfra, deploy_dir, tmp_path):
    target = tmp_path / "blob.bin"
    old = b"\x00\x01old binary\xff" * 10
    new = b"\x00\x02new binary\xfe" * 20
    target.write_bytes(old)
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = [{HOST!r}]\n",
            "deploy.py": f"""
            from pyinfra.modules import files
            files.put('files/blob.bin', '{target}')
            """,
        }
    )
    (root / "files").mkdir()
    (root / "files" / "blob.bin").write_bytes(new)
    result = pyinfra("inventory.py", "deploy.py", "--dry", "--diff", cwd=root)
    assert result.returncode == 0, result.output
    expected = (
        f"{HOST}:{target}: binary, {len(old)} bytes (sha1 {hashlib.sha1(old).hexdigest()})"
        f" -> {len(new)} bytes (sha1 {hashlib.sha1(new).hexdigest()})"
    )
    assert expected in [line.strip() for line in result.stdout.splitlines()], result.output
    assert "@@" not in result.output
    assert target.read_bytes() == old


def test_large_file_is_one_line(pyinfra, deploy_dir, tmp_path):
    """Larger than 256 KiB, on either side: its size and SHA1, not a diff."""
    big = "".join(f"line {n}\n" for n in range(40000)).encode()
    small = b"small\n"
    up, down = tmp_path / "up.txt", tmp_path / "down.txt"
    up.write_bytes(small)
    down.write_bytes(big)
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = [{HOST!r}]\n",
            "templates/small.j2": "small\n",
            "deploy.py": f"""
            from pyinfra.modules import files
            files.put('files/big.txt', '{up}')
            files.template('templates/small.j2', '{down}')
            """,
        }
    )
    (root / "files").mkdir()
    (root / "files" / "big.txt").write_bytes(big)
    result = pyinfra("inventory.py", "deploy.py", "--dry", "--diff", cwd=root)
    assert result.returncode == 0, result.output
    lines = [line.strip() for line in result.stdout.splitlines()]

    def described(content):
        return f"{len(content)} bytes (sha1 {hashlib.sha1(content).hexdigest()})"

    assert f"{HOST}:{up}: large, {described(small)} -> {described(big)}" in lines, result.output
    assert f"{HOST}:{down}: large, {described(big)} -> {described(small)}" in lines, result.output
    assert "@@" not in result.output


def test_line_and_replace_show_their_diffs(pyinfra, deploy_dir, tmp_path):
    lines_file = tmp_path / "lines.conf"
    lines_file.write_text("alpha\nport=80\nomega")  # no newline at the end
    replaced = tmp_path / "replaced.conf"
    replaced.write_text("a\nb\nname: foo here, foo there\nc\n")
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = [{HOST!r}]\n",
            "deploy.py": f"""
            from pyinfra.modules import files
            files.line('{lines_file}', '^port=', replace='port=8080')
            files.replace('{replaced}', 'fo\\\\(o\\\\)', 'ba\\\\1', flags='g')
            files.line('{tmp_path}/added.conf', 'new line')
            """,
        }
    )
    result = pyinfra("inventory.py", "deploy.py", "--dry", "--diff", cwd=root)
    assert result.returncode == 0, result.output
    assert diff_block(result.stdout, f"--- {HOST}:{lines_file}") == [
        f"--- {HOST}:{lines_file}",
        f"+++ {HOST}:{lines_file}",
        "@@ -1,3 +1,3 @@",
        " alpha",
        "-port=80",
        "-omega",
        "\\ No newline at end of file",
        "+port=8080",
        "+omega",
    ]
    assert diff_block(result.stdout, f"--- {HOST}:{replaced}") == [
        f"--- {HOST}:{replaced}",
        f"+++ {HOST}:{replaced}",
        "@@ -1,4 +1,4 @@",
        " a",
        " b",
        "-name: foo here, foo there",
        "+name: bao here, bao there",
        " c",
    ]
    assert diff_block(result.stdout, "--- /dev/null") == [
        "--- /dev/null",
        f"+++ {HOST}:{tmp_path}/added.conf",
        "@@ -0,0 +1 @@",
        "+new line",
    ]
    assert lines_file.read_text() == "alpha\nport=80\nomega"
    assert replaced.read_text() == "a\nb\nname: foo here, foo there\nc\n"

    # The real run writes what the diff said.
    run = pyinfra("inventory.py", "deploy.py", "--diff", cwd=root)
    assert run.returncode == 0, run.output
    assert lines_file.read_text() == "alpha\nport=8080\nomega\n"
    assert replaced.read_text() == "a\nb\nname: bao here, bao there\nc\n"
    assert "+name: bao here, bao there" in [line.strip() for line in run.stdout.splitlines()]


def test_diff_during_a_real_run_and_of_a_dependent_operation(pyinfra, deploy_dir, tmp_path):
    target = tmp_path / "app.conf"
    target.write_text("listen 80\nextra=1\n")
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = [{HOST!r}]\n",
            "files/app.conf": "listen 81\n",
            "deploy.py": f"""
            from pyinfra.modules import files
            files.put('files/app.conf', '{target}')
            files.line('{target}', 'extra=2')
            """,
        }
    )
    dry = pyinfra("inventory.py", "deploy.py", "--dry", "--diff", cwd=root)
    assert dry.returncode == 0, dry.output
    assert "depends on an earlier change" in dry.output
    assert "+extra=2" not in dry.output
    assert target.read_text() == "listen 80\nextra=1\n"

    result = pyinfra("inventory.py", "deploy.py", "--diff", cwd=root)
    assert result.returncode == 0, result.output
    assert target.read_text() == "listen 81\nextra=2\n"
    lines = [line.strip() for line in result.stdout.splitlines()]
    # The upload's diff among the proposed changes, the line's when it is made.
    assert (
        lines.index("-listen 80") < lines.index("+listen 81") < lines.index("--> Beginning operation run...")
    )
    assert lines.index("--> Beginning operation run...") < lines.index("+extra=2"), result.output
    before, after = result.stdout.split("--> Beginning operation run...")
    assert diff_block(before, f"--- {HOST}:{target}") == [
        f"--- {HOST}:{target}",
        f"+++ {HOST}:{target}",
        "@@ -1,2 +1 @@",
        "-listen 80",
        "-extra=1",
        "+listen 81",
    ]
    assert diff_block(after, f"--- {HOST}:{target}") == [
        f"--- {HOST}:{target}",
        f"+++ {HOST}:{target}",
        "@@ -1 +1,2 @@",
        " listen 81",
        "+extra=2",
    ], result.output


def test_round_trips(pyinfra, deploy_dir, tmp_path):
    """Nothing differs: no read more than without --diff. Something differs: one more
    read per host, for all its operations."""
    base = tmp_path / "hosts"
    for name in HOSTS:
        (base / name).mkdir(parents=True)
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = {list(HOSTS)!r}\n",
            "group_data/all.py": f"base = '{base}'\n",
            "templates/a.j2": "a = {{ host.name }}\n",
            "templates/b.j2": "b = {{ host.name }}\n",
            "deploy.py": """
            from pyinfra.modules import files
            d = '{{ host.data.base }}/{{ host.name }}'
            files.template('templates/a.j2', d + '/a')
            files.template('templates/b.j2', d + '/b')
            files.line(d + '/c', 'c = 1')
            """,
        }
    )
    for name in HOSTS:
        for part in "abc":
            (base / name / part).write_text(f"{part} = old\n")
    result = pyinfra("inventory.py", "deploy.py", "--dry", "--diff", "--debug", cwd=root)
    assert result.returncode == 0, result.output
    for name in HOSTS:
        assert reads_of(result.output, name) == 2, result.output
        assert f"+a = {name}" in result.output and "+c = 1" in result.output

    assert pyinfra("inventory.py", "deploy.py", cwd=root).returncode == 0
    again = pyinfra("inventory.py", "deploy.py", "--dry", "--diff", "--debug", cwd=root)
    assert again.returncode == 0, again.output
    for name in HOSTS:
        assert reads_of(again.output, name) == 1, again.output
    assert "@@" not in again.output
