"""A deploy to more hosts than the soft limit of open files (often 1024) allows: the
command raises that limit to the hard one, or says what to do when even that is too
low (issue 15, part 3)."""

import os
import resource
import shutil
import subprocess

HOSTS = ["127.0.{}.{}".format(n // 250, 2 + n % 250) for n in range(80)]


def run_limited(sshd, home, soft, hard, *args):
    """The real command, started with RLIMIT_NOFILE (soft, hard)."""

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    result = subprocess.run(
        [shutil.which("pyinfra"), *args, "--port", str(sshd.port)],
        env=dict(os.environ, HOME=str(home), NO_COLOR="1"),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit,
    )
    result.output = result.stdout + result.stderr
    return result


def test_soft_limit_below_the_host_count_is_raised(sshd, ssh_home):
    # 80 connections do not fit in 64 open files: without raising the soft limit,
    # hosts fail with "Too many open files".
    result = run_limited(sshd, ssh_home, 64, 4096, ",".join(HOSTS), "--run", "true")
    assert result.returncode == 0, result.output
    assert "80 host(s) succeeded, 0 failed" in result.output, result.output
    assert "Too many open files" not in result.output


def test_hard_limit_below_the_host_count_is_one_clear_error(sshd, ssh_home):
    result = run_limited(sshd, ssh_home, 64, 64, ",".join(HOSTS), "--run", "true")
    assert result.returncode == 1, result.output
    assert "80 hosts need about 112 open files" in result.output, result.output
    assert "at most 64 (the hard limit, `ulimit -Hn`)" in result.output, result.output
    assert "Traceback" not in result.output
    assert "succeeded" not in result.output  # stopped before connecting anything
