"""Authenticating with data, known_hosts, and the global operation arguments."""

import shutil
import subprocess
import time


def test_authenticating_with_data(pyinfra, deploy_dir, sshd, tmp_path, ssh_home):
    """ssh_key (with ~), ssh_key_password and ssh_user from group data, no default keys."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / "keys").mkdir()
    shutil.copy(sshd.client_key, home / "keys" / "plain")
    encrypted = home / "keys" / "locked"
    shutil.copy(sshd.client_key, encrypted)
    subprocess.run(["ssh-keygen", "-p", "-q", "-N", "s3cret", "-f", str(encrypted)], check=True)
    root = deploy_dir(
        {
            "inventories/production.py": """
            APP_SERVERS = [
                ('127.0.0.2', {'ssh_key': '~/keys/plain'}),
                ('127.0.0.3', {'ssh_key': '~/keys/locked', 'ssh_key_password': 's3cret'}),
                ('127.0.0.4', {'ssh_key': '~/keys/locked', 'ssh_key_password': 'wrong'}),
            ]
        """,
            "group_data/all.py": f"ssh_user = 'root'\nssh_port = {sshd.port}\n",
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('touch {tmp_path}/ok-{{{{ host.name }}}}')
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root, port=False, env={"HOME": str(home)})
    assert result.returncode == 1
    assert sorted(p.name for p in tmp_path.glob("ok-*")) == ["ok-127.0.0.2", "ok-127.0.0.3"]
    assert "127.0.0.4" in result.output
    assert "s3cret" not in result.output and "wrong" not in result.output.replace("127.0.0.4", "")
    # accept-new: both hosts were remembered
    known = (home / ".ssh" / "known_hosts").read_text()
    assert f"[127.0.0.2]:{sshd.port} ssh-ed25519" in known
    assert f"[127.0.0.3]:{sshd.port} ssh-ed25519" in known


def test_cli_user_override_beats_data(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = [('127.0.0.2', {'ssh_user': 'nobody-here'})]\n",
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('touch {tmp_path}/ran')
        """,
        }
    )
    bad = pyinfra("inventories/production.py", "deploy.py", cwd=root)
    assert bad.returncode == 1
    assert "authentication failed for nobody-here@127.0.0.2" in bad.output
    good = pyinfra("inventories/production.py", "deploy.py", "--user", "root", cwd=root)
    assert good.returncode == 0, good.output
    assert (tmp_path / "ran").exists()


def test_changed_host_key_is_refused(pyinfra, deploy_dir, tmp_path, sshd, ssh_home):
    other = tmp_path / "otherkey"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    fake = (tmp_path / "otherkey.pub").read_text().split()
    known = ssh_home / ".ssh" / "known_hosts"
    saved = known.read_text()
    entry = f"[127.0.0.7]:{sshd.port} {fake[0]} {fake[1]}\n"
    # The only key known for this address is the fake one, whatever earlier tests of
    # the session recorded for it (HOME is shared).
    mine = f"[127.0.0.7]:{sshd.port} "
    known.write_text("".join(line for line in saved.splitlines(True) if not line.startswith(mine)) + entry)
    try:
        root = deploy_dir(
            {
                "inventories/production.py": "WEB = ['127.0.0.7', '127.0.0.2']\n",
                "deploy.py": f"""
                from pyinfra.modules import server
                server.shell('touch {tmp_path}/ran-{{{{ host.name }}}}')
            """,
            }
        )
        result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
        assert result.returncode == 1
        assert f"host key of [127.0.0.7]:{sshd.port} has CHANGED" in result.output
        assert f"{known}:" in result.output
        assert [p.name for p in tmp_path.glob("ran-*")] == ["ran-127.0.0.2"]
    finally:
        known.write_text(saved)


def test_global_arguments(pyinfra, deploy_dir, public_dir):
    out = public_dir
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2', '127.0.0.3']\n",
            "deploy.py": f"""
            from pyinfra.modules import server
            ENV = {{'FROM_CONFIG': 'cfg'}}
            server.shell('echo $GREETING $FROM_CONFIG > {out}/env-{{{{ host.name }}}}',
                         env={{'GREETING': "it's $(me)"}})
            server.shell('whoami > {out}/sudo-{{{{ host.name }}}}', sudo=True, sudo_user='nobody')
            server.shell('whoami > {out}/su-{{{{ host.name }}}}', su_user='nobody')
            server.shell('echo {{{{ host.name }}}} >> {out}/once', run_once=True)
            server.shell('sleep 5; touch {out}/slept-{{{{ host.name }}}}', timeout=1,
                         ignore_errors=True)
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", "-v", cwd=root)
    assert result.returncode == 0, result.output
    for name in ("127.0.0.2", "127.0.0.3"):
        assert (out / f"env-{name}").read_text() == "it's $(me) cfg\n"
        assert (out / f"sudo-{name}").read_text() == "nobody\n"
        assert (out / f"su-{name}").read_text() == "nobody\n"
    assert (out / "once").read_text() == "127.0.0.2\n"
    assert "timed out" in result.output
    time.sleep(5)  # the timed-out command was stopped on the host: it never finishes
    assert not list(out.glob("slept-*"))
