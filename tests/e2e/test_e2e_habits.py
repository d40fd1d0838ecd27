"""pyinfra 3 habits get this version's answer (issue 13): one line saying what to
write instead, nothing run on the hosts, the exit status of a usage error (of an error
in a user file for an import there)."""


def one_error_line(result, code=2):
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    assert "Traceback" not in result.output
    assert result.returncode == code, result.output
    return errors[0]


def test_exec_subcommand_points_to_run(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir({})
    # As typed: nothing after the command (the fixture adds --port at the end).
    result = pyinfra("127.0.0.2", "exec", "--", "touch", f"{tmp_path}/ran", cwd=root, port=False)
    line = one_error_line(result)
    assert f"use `--run 'touch {tmp_path}/ran'`" in line, line
    assert not (tmp_path / "ran").exists()
    # The suggestion, followed, does it.
    done = pyinfra("127.0.0.2", "--run", f"touch {tmp_path}/ran", cwd=root)
    assert done.returncode == 0, done.output
    assert (tmp_path / "ran").exists()


def test_a_deploy_file_named_exec_is_still_a_deploy(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir({"exec": f"from pyinfra.modules import server\nserver.shell('touch {tmp_path}/ran')\n"})
    result = pyinfra("127.0.0.2", "exec", cwd=root)
    assert result.returncode == 0, result.output
    assert (tmp_path / "ran").exists()


def test_v3_fact_names_point_to_ours(pyinfra, deploy_dir):
    root = deploy_dir({})
    for spec, ours in (
        ("server.Os", "os"),
        ("server.LinuxDistribution", "linux_distribution"),
        ("files.File:/etc/hosts", "file:/etc/hosts"),
    ):
        result = pyinfra("127.0.0.2", "--fact", spec, cwd=root)
        line = one_error_line(result)
        assert f"did you mean `--fact {ours}`?" in line, line
        assert result.stdout == "", result.stdout
    right = pyinfra("127.0.0.2", "--fact", "os", cwd=root)
    assert right.returncode == 0 and "Linux" in right.stdout, right.output


def test_v3_operations_import_points_to_modules(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.operations import files
            files.directory('{tmp_path}/made')
            """,
        }
    )
    result = pyinfra("127.0.0.2", "deploy.py", cwd=root)
    # An error in the user's file, like any other there (docs/cli.md, exit codes).
    line = one_error_line(result, code=1)
    assert "deploy.py, line 1:" in line, line
    assert "operations live in `pyinfra.modules`" in line, line
    assert "from pyinfra.modules import files" in line, line
    assert not (tmp_path / "made").exists()


def test_fact_subcommand_points_to_fact_option(pyinfra, deploy_dir):
    result = pyinfra("127.0.0.2", "fact", "server.Os", "server.Hostname", cwd=deploy_dir({}), port=False)
    line = one_error_line(result)
    assert "use `--fact os --fact hostname`" in line, line
