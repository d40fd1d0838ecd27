"""Output that scales (issue 13): by default one line per operation with its outcome
across hosts, failures in full, and one line per failed host at the end; per-host
lines with -v, commands with -vv. Unnamed operations are named by their arguments
as rendered for the first host."""

import re

MANY = [f"127.0.0.{n}" for n in range(2, 32)]  # 30 hosts, all the test sshd
FEW = MANY[:3]


def three_ops(deploy_dir, base, hosts, fail=None):
    """A deploy of three operations on each host's own directory; `fail` is a host
    whose second operation fails."""
    return deploy_dir(
        {
            "inventory.py": f"HOSTS = {hosts!r}\n",
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import files, server
            files.directory('{base}/' + host.name)
            files.directory('{base}/' + host.name + '/conf', mode='750')
            if host.name == {fail!r}:
                server.shell('echo broken on purpose >&2; exit 3')
            files.file('{base}/' + host.name + '/conf/app.ini')
            """,
        }
    )


def lines(output):
    return [line for line in output.splitlines() if line.strip()]


def test_default_output_does_not_grow_with_hosts(pyinfra, deploy_dir, tmp_path):
    counts = {}
    for label, hosts in (("few", FEW), ("many", MANY)):
        base = tmp_path / label
        root = three_ops(deploy_dir, base, hosts)
        first = pyinfra("inventory.py", "deploy.py", cwd=root)
        assert first.returncode == 0, first.output
        assert (base / hosts[-1] / "conf" / "app.ini").exists()
        again = pyinfra("inventory.py", "deploy.py", cwd=root)
        assert again.returncode == 0, again.output
        counts[label] = len(lines(again.output))
        # One line per operation, its outcome across hosts: in the plan only, as none ran.
        n = len(hosts)
        assert again.output.count(f": {n} no change") == 3, again.output
        assert re.search(
            rf"Files/Directory \({base}/{hosts[0]}\) \(\+{n - 1} variants?\): {n} no change", again.output
        ), again.output
        assert f"{n} host(s) succeeded, 0 failed" in again.output, again.output
        assert f"[{hosts[1]}]" not in again.output, again.output
        assert first.output.count(f": {n} to change") == 3, first.output
        assert first.output.count(f": {n} changed") == 3, first.output
    assert counts["few"] == counts["many"] <= 16, counts


def test_failures_in_full_and_one_line_per_failed_host_at_the_end(pyinfra, deploy_dir, tmp_path):
    base = tmp_path / "hosts"
    bad = MANY[7]
    root = three_ops(deploy_dir, base, MANY, fail=bad)
    result = pyinfra("inventory.py", "deploy.py", cwd=root)
    assert result.returncode == 1, result.output
    out = [line.strip() for line in lines(result.stdout)]
    assert f"Server/Shell (echo broken on purpose >&2; exit 3): 1 failed: {bad}" in out, result.stdout
    # The failure in full: its status and what the command printed.
    assert "exit status 3" in result.stdout and "broken on purpose" in result.stdout, result.stdout
    # The last operation ran on the 29 others only.
    assert any(line.startswith("Files/File (") and line.endswith(": 29 changed") for line in out), out
    # The run ends with the failed host and why, and how to run it again.
    assert out[-3] == "29 host(s) succeeded, 1 failed: 89 operations, 89 changed", out[-4:]
    assert out[-2].startswith(f"[{bad}] Failed: Server/Shell"), out[-4:]
    assert out[-1] == f"to run the failed hosts again: --limit {bad}", out[-4:]
    assert len(out) <= 26, result.stdout


def test_v_adds_host_lines_and_vv_commands(pyinfra, deploy_dir, tmp_path):
    base = tmp_path / "hosts"
    root = three_ops(deploy_dir, base, FEW)
    plain = pyinfra("inventory.py", "deploy.py", "--dry", cwd=root)
    assert plain.returncode == 0, plain.output
    assert "mkdir -p" not in plain.output and f"[{FEW[1]}]" not in plain.output, plain.output

    verbose = pyinfra("inventory.py", "deploy.py", "-v", cwd=root)
    assert verbose.returncode == 0, verbose.output
    for name in FEW:
        assert f"[{name}] Connected" in verbose.output
        assert verbose.output.count(f"[{name}] Success (changed)") == 3, verbose.output
        assert f"[{name}] Successful: 3/3 operations, 3 changed" in verbose.output
    assert "mkdir -p" not in verbose.output

    very = pyinfra("inventory.py", "deploy.py", "--dry", "-vv", cwd=root)
    assert very.returncode == 0, very.output
    assert f"[{FEW[2]}] no change" in very.output
    (base / FEW[2] / "conf" / "app.ini").unlink()
    very = pyinfra("inventory.py", "deploy.py", "--dry", "-vv", cwd=root)
    assert f"touch {base}/{FEW[2]}/conf/app.ini" in very.output, very.output


def test_unnamed_operations_show_arguments_rendered_for_the_first_host(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = {FEW!r}\n",
            "group_data/all.py": "colour = 'blue'\n",
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('echo {{{{ host.data.colour }}}} > {tmp_path}/same-{{{{ host.name }}}}')
            server.shell('echo {{{{ host.name }}}} > /dev/null')
            server.shell('echo {{{{ "odd" if host.name.endswith("3") else "even" }}}} > /dev/null')
            """,
        }
    )
    result = pyinfra("inventory.py", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert "{{" not in result.output, result.output
    first = FEW[0]
    assert f"Server/Shell (echo blue > {tmp_path}/same-{first}) (+2 variants): 3 changed" in result.output
    assert f"Server/Shell (echo {first} > /dev/null) (+2 variants): 3 changed" in result.output
    assert "Server/Shell (echo even > /dev/null) (+1 variant): 3 changed" in result.output, result.output


def test_no_wait_still_gives_one_line_per_operation(pyinfra, deploy_dir, tmp_path):
    base = tmp_path / "hosts"
    root = three_ops(deploy_dir, base, FEW, fail=FEW[1])
    result = pyinfra("inventory.py", "deploy.py", "--no-wait", cwd=root)
    assert result.returncode == 1, result.output
    run = result.stdout.split("Beginning operation run...")[1].split("--> Results:")[0]
    outcomes = [line.strip() for line in run.splitlines() if re.match(r"^    [^ \[]", line)]
    assert [line.rsplit(": ", 1)[-1] for line in outcomes] == [
        "3 changed",
        "3 changed",
        FEW[1],
        "2 changed",
    ], run
    assert "1 failed: " + FEW[1] in run and f"[{FEW[1]}] Error" in run, run
