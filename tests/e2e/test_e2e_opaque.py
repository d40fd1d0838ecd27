"""An operation whose effect cannot be known before it runs (`server.shell`,
`server.script`, `python.execute`) is taken to change everything on its host: the
operations after it on that host are decided from the host as it is when their turn
comes (issue 22, point 2). And a deploy that reads a fact between operations never
crashes the build (point 1). Through the real command: on @local and against the
test sshd."""

import json

HOSTS = ("127.0.0.2", "127.0.0.3")


def test_fact_read_between_operations_does_not_crash_the_build(pyinfra, deploy_dir, tmp_path):
    """apt.packages looks at the commands recorded before it while later operations are
    being recorded: the build must not trip over its own bookkeeping."""
    target = tmp_path / "f"
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import apt, files
            files.line({str(target)!r}, 'a')
            apt.packages('openssh-server')
            arch = host.fact.arch
            files.line({str(target)!r}, 'b')
            """,
        }
    )
    result = pyinfra("@local", "deploy.py", "--dry", cwd=root, port=False)
    assert result.returncode == 0, result.output
    assert "Traceback" not in result.output, result.output
    assert "Files/Line" in result.output, result.output


def shell_then_line(deploy_dir, base, extra=""):
    return deploy_dir(
        {
            "inventory.py": f"HOSTS = {list(HOSTS)!r}\n",
            "group_data/all.py": f"base = '{base}'\n",
            "deploy.py": """
            from pyinfra.modules import files, python, server
            conf = '{{ host.data.base }}/{{ host.name }}.conf'
            files.file(conf)
            server.shell('echo debug=1 >> ' + conf)
            files.line(conf, 'debug=1', present=False)
            files.line(conf, 'after=1')
            """
            + extra,
        }
    )


def test_line_removed_after_shell_added_it(pyinfra, deploy_dir, tmp_path):
    """The shell adds the line; the files.line after it must see it and remove it, on
    every run."""
    base = tmp_path / "hosts"
    base.mkdir()
    root = shell_then_line(deploy_dir, base)
    for run in range(2):
        result = pyinfra("inventory.py", "deploy.py", "--json", cwd=root)
        assert result.returncode == 0, result.output
        for name in HOSTS:
            assert (base / f"{name}.conf").read_text() == "after=1\n", (run, result.output)
        ops = json.loads(result.stdout)["hosts"][HOSTS[0]]["operations"]
        changed = [op["name"].split(" ")[0] for op in ops if op["changed"]]
        # The shell runs every time and the line it adds is removed every time; the
        # line added on the first run stays.
        first = ["Files/File", "Server/Shell", "Files/Line", "Files/Line"]
        want = first if run == 0 else ["Server/Shell", "Files/Line"]
        assert changed == want, (run, changed)


def test_operations_after_shell_cost_no_extra_round_trip(pyinfra, deploy_dir, tmp_path):
    """The facts of every operation after the shell are read behind the shell's own
    command: one round trip for the shell and them, then one per operation that changes."""
    base = tmp_path / "hosts"
    base.mkdir()
    root = shell_then_line(deploy_dir, base)
    assert pyinfra("inventory.py", "deploy.py", cwd=root).returncode == 0
    result = pyinfra("inventory.py", "deploy.py", "--debug", cwd=root)
    assert result.returncode == 0, result.output
    for name in HOSTS:
        lines = [line for line in result.output.splitlines() if f"[{name}]" in line]
        # The batched read before the run, and nothing more of its own: the reads of
        # the two lines travel with the shell's command.
        assert len([line for line in lines if "reading fact" in line]) == 1, result.output


def test_unchanged_operations_after_shell_cost_no_round_trip(pyinfra, deploy_dir, tmp_path):
    """After the shell, operations with nothing to do: the facts of all of them travel
    with the shell's command, not one round trip each."""
    base = tmp_path / "hosts"
    base.mkdir()
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = {list(HOSTS)!r}\n",
            "group_data/all.py": f"base = '{base}'\n",
            "deploy.py": """
            from pyinfra.modules import files, server
            conf = '{{ host.data.base }}/{{ host.name }}.conf'
            server.shell('true')
            files.line(conf, 'a=1')
            files.file(conf, mode='644')
            files.line(conf, 'b=1')
            files.line(conf, 'c=1')
            """,
        }
    )
    assert pyinfra("inventory.py", "deploy.py", cwd=root).returncode == 0
    result = pyinfra("inventory.py", "deploy.py", "--debug", cwd=root)
    assert result.returncode == 0, result.output
    for name in HOSTS:
        assert (base / f"{name}.conf").read_text() == "a=1\nb=1\nc=1\n"
        lines = [line for line in result.output.splitlines() if f"[{name}]" in line]
        assert len([line for line in lines if "reading fact" in line]) == 1, result.output


def test_python_execute_is_opaque_too(pyinfra, deploy_dir, tmp_path):
    base = tmp_path / "hosts"
    base.mkdir()
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = {list(HOSTS)!r}\n",
            "group_data/all.py": f"base = '{base}'\n",
            "deploy.py": """
            from pyinfra import host
            from pyinfra.modules import files, python

            def add(state, host, path):
                with open(path, 'a') as handle:
                    handle.write('debug=1\\n')

            conf = host.data.base + '/' + host.name + '.conf'
            files.file(conf)
            python.execute(add, conf)
            files.line(conf, 'debug=1', present=False)
            """,
        }
    )
    result = pyinfra("inventory.py", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    for name in HOSTS:
        assert (base / f"{name}.conf").read_text() == "", result.output


def test_dry_run_says_operations_after_shell_are_decided_when_they_run(pyinfra, deploy_dir, tmp_path):
    base = tmp_path / "hosts"
    base.mkdir()
    root = shell_then_line(deploy_dir, base)
    result = pyinfra("inventory.py", "deploy.py", "--dry", cwd=root)
    assert result.returncode == 0, result.output
    assert result.output.count("decided when it runs (depends on an earlier change)") == 2, result.output


def test_no_wait_after_shell(pyinfra, deploy_dir, tmp_path):
    base = tmp_path / "hosts"
    base.mkdir()
    root = shell_then_line(deploy_dir, base)
    for run in range(2):
        result = pyinfra("inventory.py", "deploy.py", "--no-wait", cwd=root)
        assert result.returncode == 0, result.output
        for name in HOSTS:
            assert (base / f"{name}.conf").read_text() == "after=1\n", (run, result.output)


def test_internal_error_is_one_clear_line(pyinfra, deploy_dir, tmp_path):
    """A bug of ours (here made by the deploy breaking the CLI's own printer) ends in one
    line saying so and exit code 1; --debug adds the traceback."""
    root = deploy_dir(
        {
            "deploy.py": """
            from pyinfra.cli import output
            from pyinfra.modules import server

            def broken(*args, **kwargs):
                raise RuntimeError('printer broke')

            output.Printer.run_done = broken
            server.shell('true')
            """,
        }
    )
    result = pyinfra("@local", "deploy.py", cwd=root, port=False)
    assert result.returncode == 1, result.output
    assert "Traceback" not in result.output, result.output
    message = "internal error: RuntimeError: printer broke (a bug in pyinfra; --debug shows where)"
    assert message in result.output
    result = pyinfra("@local", "deploy.py", "--debug", cwd=root, port=False)
    assert result.returncode == 1 and "Traceback" in result.output, result.output
