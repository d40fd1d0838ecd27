"""Calls of an operation from one place in the deploy are one operation across hosts,
whatever per-host values they pass (issue 15, part 1): the hosts run it side by side,
each its own commands, in its own order."""

import time

HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


def test_per_host_python_values_run_in_parallel(pyinfra, deploy_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = {list(HOSTS)!r}\n",
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import server
            log = '{out}/' + host.name
            server.shell('sleep 2; echo first ' + host.name + ' >> ' + log)
            for step in ('a', 'b'):
                server.shell(f'echo {{step}} {{host.name}} >> {{log}}')
            server.shell('echo same >> ' + log)
            """,
        }
    )
    started = time.monotonic()
    result = pyinfra("inventory.py", "deploy.py", "-v", cwd=root)
    took = time.monotonic() - started
    assert result.returncode == 0, result.output
    for name in HOSTS:
        assert (out / name).read_text() == f"first {name}\na {name}\nb {name}\nsame\n", result.output
    # One operation per place: three hosts sleep together, not one after another.
    assert took < 5.5, (took, result.output)
    assert "Server/Shell (sleep 2; echo first 127.0.0.2 >> " in result.output
    assert "(+2 variants)" in result.output, result.output
    # Four places (the loop's two calls are the first and second call from one place).
    assert result.output.count("Successful: 4/4 operations, 4 changed") == len(HOSTS), result.output


def test_same_arguments_from_two_places_stay_two_operations(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('echo x >> {tmp_path}/log')
            server.shell('echo x >> {tmp_path}/log')
            """,
        }
    )
    result = pyinfra("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert (tmp_path / "log").read_text() == "x\nx\n"
    assert f"Server/Shell (echo x >> {tmp_path}/log): 1 changed" in result.output
    assert "1 host(s) succeeded, 0 failed: 2 operations, 2 changed" in result.output, result.output
