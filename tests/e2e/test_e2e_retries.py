"""Retries (issue 13): a failed operation's commands run again from the start after a
delay, up to N more times; the output says how it went."""

import time


def flaky(tmp_path, failures):
    """A command that fails its first `failures` runs on each host (a counter file)."""
    counter = f"{tmp_path}/count-{{{{ host.name }}}}"
    return (
        f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > {counter}; "
        f"echo run $n; [ $n -gt {failures} ]"
    )


def test_a_flaky_operation_succeeds_on_retry(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('echo before >> {tmp_path}/steps-{{{{ host.name }}}}')
            server.shell({flaky(tmp_path, 2)!r}, retries=3, retry_delay=0.2)
            server.shell('echo after >> {tmp_path}/steps-{{{{ host.name }}}}')
            """,
        }
    )
    result = pyinfra("127.0.0.2,127.0.0.3", "deploy.py", "-v", cwd=root)
    assert result.returncode == 0, result.output
    assert result.output.count("succeeded on retry 2") == 2, result.output
    for name in ("127.0.0.2", "127.0.0.3"):
        assert (tmp_path / f"count-{name}").read_text() == "3\n"
        assert (tmp_path / f"steps-{name}").read_text() == "before\nafter\n"


def test_retries_run_out(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell({flaky(tmp_path, 5)!r})
            server.shell('touch {tmp_path}/never')
            """,
        }
    )
    started = time.monotonic()
    result = pyinfra("127.0.0.2", "deploy.py", "--retry", "2", "--retry-delay", "0.5", cwd=root)
    assert result.returncode == 1, result.output
    assert time.monotonic() - started >= 1.0  # two delays
    assert "failed after 3 attempts" in result.output, result.output
    assert "run 3" in result.output and "exit status 1" in result.output
    assert (tmp_path / "count-127.0.0.2").read_text() == "3\n"
    assert not (tmp_path / "never").exists()


def test_a_timeout_counts_as_a_failure(pyinfra, deploy_dir, tmp_path):
    counter = f"{tmp_path}/count"
    root = deploy_dir(
        {
            "config.py": "RETRIES = 1\nRETRY_DELAY = 0\n",
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('n=$(cat {counter} 2>/dev/null || echo 0); echo $((n + 1)) > {counter}; '
                         '[ $n -gt 0 ] || sleep 30', timeout=1)
            """,
        }
    )
    result = pyinfra("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert ": 1 changed, 1 succeeded on retry: 127.0.0.2" in result.output, result.output
    assert (tmp_path / "count").read_text() == "2\n"
