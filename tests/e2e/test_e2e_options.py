"""CLI options of deploy mode not covered elsewhere: passwords and keys, sudo/su
options, --parallel, -vv, colours, fact gathering in parallel with a cache."""

import os
import pty
import shutil
import subprocess

import pytest
from conftest import pyinfra_command


@pytest.fixture
def password_user():
    name = "pyinfra-pw"
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True, capture_output=True)
    subprocess.run(["chpasswd"], input=f"{name}:pa55 word$\n", text=True, check=True)
    yield name
    subprocess.run(["userdel", "-r", name], capture_output=True)


def test_password_and_key_options(pyinfra, deploy_dir, tmp_path, password_user, sshd, public_dir):
    out = public_dir
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('whoami > {out}/{{{{ host.name }}}}')
        """,
        }
    )
    empty_home = tmp_path / "home"
    (empty_home / ".ssh").mkdir(parents=True)
    env = {"HOME": str(empty_home)}
    result = pyinfra(
        "127.0.0.2", "deploy.py", "--user", password_user, "--password", "pa55 word$", cwd=root, env=env
    )
    assert result.returncode == 0, result.output
    assert (out / "127.0.0.2").read_text() == f"{password_user}\n"
    wrong = pyinfra(
        "127.0.0.3", "deploy.py", "--user", password_user, "--password", "nope", cwd=root, env=env
    )
    assert wrong.returncode == 1
    assert f"authentication failed for {password_user}@127.0.0.3" in wrong.output

    locked = tmp_path / "locked"
    shutil.copy(sshd.client_key, locked)
    subprocess.run(["ssh-keygen", "-p", "-q", "-N", "k3y", "-f", str(locked)], check=True)
    result = pyinfra("127.0.0.4", "deploy.py", "--key", locked, "--key-password", "k3y", cwd=root, env=env)
    assert result.returncode == 0, result.output
    assert (out / "127.0.0.4").read_text() == "root\n"
    no_password = pyinfra("127.0.0.5", "deploy.py", "--key", locked, cwd=root, env=env)
    assert no_password.returncode == 1
    assert "encrypted" in no_password.output or "authentication failed" in no_password.output


def test_sudo_options(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "deploy.py": """
            from pyinfra.modules import server
            server.shell('whoami > /tmp/pyinfra-e2e-whoami-{{ host.name }}')
        """,
        }
    )
    try:
        for option, expected in (
            (["--sudo"], "root"),
            (["--sudo-user", "nobody"], "nobody"),
            (["--su-user", "nobody"], "nobody"),
        ):
            result = pyinfra("127.0.0.2", "deploy.py", *option, cwd=root)
            assert result.returncode == 0, result.output
            assert open("/tmp/pyinfra-e2e-whoami-127.0.0.2").read() == f"{expected}\n"
            os.remove("/tmp/pyinfra-e2e-whoami-127.0.0.2")
    finally:
        if os.path.exists("/tmp/pyinfra-e2e-whoami-127.0.0.2"):
            os.remove("/tmp/pyinfra-e2e-whoami-127.0.0.2")


def test_parallel_limits_hosts_at_once_and_facts_gather_in_parallel_once(pyinfra, deploy_dir, tmp_path):
    log = tmp_path / "log"
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2', '127.0.0.3', '127.0.0.4']\n",
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import server
            import os
            if os.environ.get('PROBE') == 'barrier':
                # each host waits (up to 20 s) until all three have started
                probe = ('echo start >> {log}; i=0; while [ $(grep -c start {log}) -lt 3 ]'
                         ' && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; echo end >> {log}; echo ok')
            else:
                probe = 'echo start >> {log}; sleep 0.2; echo end >> {log}; echo ok'
            assert host.fact.command(probe) == 'ok'
            assert host.fact.command(probe) == 'ok'  # cached: not run again
            server.shell('true')
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root, env={"PROBE": "barrier"})
    assert result.returncode == 0, result.output
    # gathered on all three hosts at once, then cached
    assert log.read_text().split() == ["start"] * 3 + ["end"] * 3
    log.unlink()
    result = pyinfra("inventories/production.py", "deploy.py", "--parallel", "1", cwd=root)
    assert result.returncode == 0, result.output
    assert log.read_text().split() == ["start", "end"] * 3


def test_very_verbose_shows_commands(pyinfra, deploy_dir):
    root = deploy_dir({"deploy.py": "from pyinfra.modules import server\nserver.shell('echo a-b-c')\n"})
    result = pyinfra("127.0.0.2", "deploy.py", "-vv", cwd=root)
    assert result.returncode == 0, result.output
    assert "        echo a-b-c" in result.stdout
    assert "[127.0.0.2] a-b-c" in result.stdout


def run_in_pty(args, cwd, env):
    """Run a command with stdout/stderr on a terminal; return what the terminal got."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execvpe(args[0], args, env)
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode(errors="replace")


def test_colours_and_progress_only_on_a_terminal(pyinfra, deploy_dir, sshd, ssh_home):
    root = deploy_dir({"deploy.py": "from pyinfra.modules import server\nserver.shell('true')\n"})
    args = pyinfra_command() + ["127.0.0.2", "deploy.py", "--port", str(sshd.port)]
    env = dict(os.environ, HOME=str(ssh_home))
    env.pop("NO_COLOR", None)
    on_tty = run_in_pty(args, root, env)
    assert "\x1b[32m" in on_tty  # green success
    assert "hosts done" in on_tty  # progress line
    no_colour = run_in_pty(args, root, dict(env, NO_COLOR="1"))
    assert "\x1b[32m" not in no_colour
    piped = pyinfra("127.0.0.2", "deploy.py", cwd=root, env={"NO_COLOR": ""})
    assert "\x1b[" not in piped.output and "hosts done" not in piped.output


def test_fact_output_shows_at_vv_only(pyinfra, deploy_dir, tmp_path):
    """0.1 showed what fact commands print at -vv; -v shows commands' output only, and
    our own fact markers never."""
    (tmp_path / "there").write_text("x\n")
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import files
            files.file('{tmp_path}/there', mode=640)
            files.file('{tmp_path}/absent', present=False)
            """,
        }
    )
    quiet = pyinfra("127.0.0.2", "deploy.py", "-v", cwd=root)
    assert quiet.returncode == 0, quiet.output
    loud = pyinfra("127.0.0.2", "deploy.py", "-vv", cwd=root)
    assert loud.returncode == 0, loud.output
    stat_line = " root root"  # the file fact's stat output: mode, size, mtime, owner, group
    assert stat_line not in quiet.output, quiet.output
    assert stat_line in loud.output, loud.output
    for result in (quiet, loud):
        assert "__pyinfra_fact" not in result.output, result.output
