"""Operations that act on what an earlier operation of the same run changes are made
from the host's state when their turn comes, not from facts read before the run
(issue 11, point 3), through the real command against the test sshd."""

import json

HOSTS = ("127.0.0.2", "127.0.0.3")


def put_then_line(deploy_dir, base):
    return deploy_dir(
        {
            "inventory.py": f"HOSTS = {list(HOSTS)!r}\n",
            "group_data/all.py": f"base = '{base}'\n",
            "files/app.conf": "listen 80\n",
            "deploy.py": """
            from pyinfra.modules import files
            conf = '{{ host.data.base }}/{{ host.name }}/app.conf'
            files.directory('{{ host.data.base }}/{{ host.name }}')
            files.put('files/app.conf', conf)
            files.line(conf, 'extra=1')
            """,
        }
    )


def test_put_then_line_converges_on_every_run(pyinfra, deploy_dir, tmp_path):
    base = tmp_path / "hosts"
    root = put_then_line(deploy_dir, base)
    for run in range(3):
        result = pyinfra("inventory.py", "deploy.py", cwd=root)
        assert result.returncode == 0, result.output
        for name in HOSTS:
            # The upload puts back the file without the line; the line must follow it.
            assert (base / name / "app.conf").read_text() == "listen 80\nextra=1\n", (run, result.output)


def test_dependent_operation_costs_no_extra_round_trip(pyinfra, deploy_dir, tmp_path):
    """Its facts are read behind the commands of the operation it depends on."""
    base = tmp_path / "hosts"
    root = put_then_line(deploy_dir, base)
    for run in range(2):
        result = pyinfra("inventory.py", "deploy.py", "--debug", cwd=root)
        assert result.returncode == 0, result.output
        for name in HOSTS:
            lines = result.output.splitlines()
            assert len([line for line in lines if f"[{name}] reading fact" in line]) == 1, result.output
            behind = [line for line in lines if f"[{name}]" in line and "of the next operation read" in line]
            assert len(behind) == 1, (run, result.output)
            assert (base / name / "app.conf").read_text() == "listen 80\nextra=1\n"


def test_dry_run_shows_dependent_operation(pyinfra, deploy_dir, tmp_path):
    base = tmp_path / "hosts"
    root = put_then_line(deploy_dir, base)
    assert pyinfra("inventory.py", "deploy.py", cwd=root).returncode == 0
    # The file as the deploy left it: the upload would change it (drop the line), so
    # the line's operation cannot be known before the upload runs.
    result = pyinfra("inventory.py", "deploy.py", "--dry", cwd=root)
    assert result.returncode == 0, result.output
    assert f"{len(HOSTS)} decided when it runs (depends on an earlier change)" in result.output, result.output
    result = pyinfra("inventory.py", "deploy.py", "--dry", "-v", cwd=root)
    assert result.returncode == 0, result.output
    assert result.output.count("depends on an earlier change: decided") == len(HOSTS), result.output
    for name in HOSTS:
        assert (base / name / "app.conf").read_text() == "listen 80\nextra=1\n"

    state = json.loads(pyinfra("inventory.py", "deploy.py", "--debug-state", cwd=root).stdout)
    dependent = {op["name"]: op["dependent_hosts"] for op in state["operations"]}
    assert [name for name, hosts in dependent.items() if hosts] == [
        next(name for name in dependent if name.startswith("Files/Line"))
    ], dependent
    assert sorted(dependent[next(n for n in dependent if n.startswith("Files/Line"))]) == sorted(HOSTS)


def test_new_directory_does_not_make_its_content_dependent(pyinfra, deploy_dir, tmp_path):
    """A directory that did not exist is empty once made: files put into it are still
    planned before the run (and read in the one batched fact read)."""
    base = tmp_path / "hosts"
    root = put_then_line(deploy_dir, base)
    state = json.loads(pyinfra("inventory.py", "deploy.py", "--debug-state", cwd=root).stdout)
    dependent = {op["name"]: op["dependent_hosts"] for op in state["operations"]}
    assert not any(hosts for name, hosts in dependent.items() if not name.startswith("Files/Line")), dependent


def test_recursive_change_of_existing_directory_reaches_content(pyinfra, deploy_dir, tmp_path):
    """A recursive mode change of an existing directory changes the files in it: a
    later operation on one of them sees the new mode and puts its own back."""
    base = tmp_path / "hosts"
    for name in HOSTS:
        (base / name / "etc").mkdir(parents=True)
        (base / name / "etc" / "key").write_text("k\n")
        (base / name / "etc" / "key").chmod(0o600)
        (base / name / "etc").chmod(0o700)  # the recursive change has work to do
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = {list(HOSTS)!r}\n",
            "group_data/all.py": f"base = '{base}'\n",
            "deploy.py": """
            from pyinfra.modules import files
            etc = '{{ host.data.base }}/{{ host.name }}/etc'
            files.directory(etc, mode=755, recursive=True)
            files.file(etc + '/key', mode=600)
            """,
        }
    )
    result = pyinfra("inventory.py", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    for name in HOSTS:
        assert oct((base / name / "etc" / "key").stat().st_mode & 0o777) == "0o600", result.output
    result = pyinfra("inventory.py", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    for name in HOSTS:
        assert oct((base / name / "etc" / "key").stat().st_mode & 0o777) == "0o600", result.output


def test_same_file_removed_created_removed(pyinfra, deploy_dir, tmp_path):
    """Three operations on one file: each is planned after the one before it ran."""
    base = tmp_path / "hosts"
    root = deploy_dir(
        {
            "inventory.py": "HOSTS = ['127.0.0.2']\n",
            "group_data/all.py": f"base = '{base}'\n",
            "deploy.py": """
            from pyinfra.modules import files
            log = '{{ host.data.base }}/{{ host.name }}/log'
            files.directory('{{ host.data.base }}/{{ host.name }}')
            files.file(log, present=False)
            files.file(log, mode=640)
            files.file(log, present=False)
            """,
        }
    )
    (base / "127.0.0.2").mkdir(parents=True)
    (base / "127.0.0.2" / "log").write_text("old\n")
    result = pyinfra("inventory.py", "deploy.py", "-v", cwd=root)
    assert result.returncode == 0, result.output
    # Planned from the facts before the run, the last removal would see "present" and
    # remove; the middle one would see "present" and not create. Made at their turn,
    # the file is removed, created, removed.
    assert not (base / "127.0.0.2" / "log").exists(), result.output
    assert "Successful: 4/4 operations, 3 changed" in result.output, result.output
