"""~/.ssh/config read the way OpenSSH reads it: aliases, wildcards, Include, Match, tokens;
inventory data and CLI flags beat it. Every test has a HOME of its own."""

import shutil
import textwrap

import pytest


@pytest.fixture
def home(tmp_path, sshd):
    """A HOME with no default key: only what ssh_config names can authenticate."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (home / "keys").mkdir()
    return home


def add_key(home, sshd, name):
    path = home / "keys" / name
    shutil.copy(sshd.client_key, path)
    path.chmod(0o600)
    return path


def write_config(home, text, name="config"):
    path = home / ".ssh" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def where_deploy(tmp_path):
    """A deploy writing each host's $SSH_CONNECTION (the address it reached) to a file."""
    return f"""
        from pyinfra.modules import server
        server.shell('echo $SSH_CONNECTION > {tmp_path}/where-{{{{ host.name }}}}')
    """


def reached(tmp_path, name):
    """(server address, server port) the host's commands ran behind."""
    fields = (tmp_path / f"where-{name}").read_text().split()
    return fields[2], int(fields[3])


def test_aliases_wildcards_include_and_tokens(pyinfra, deploy_dir, sshd, tmp_path, home):
    add_key(home, sshd, "root-at-127.0.12.2")  # IdentityFile ~/keys/%r-at-%h
    add_key(home, sshd, "db-key")  # from an Included file
    write_config(
        home,
        f"""
        Include conf.d/*.conf
        # first value wins: the specific blocks come before Host *
        Host web-*
            User root
            Port {sshd.port}
        Host web-one
            HostName 127.0.12.2
            IdentityFile ~/keys/%r-at-%h
            Port 1
        Host * !nothing-here
            IdentitiesOnly yes
            Port 2
            User nobody-here
        """,
    )
    write_config(
        home,
        f"""
        Host db
            HostName 127.0.12.3
            Port {sshd.port}
        Match originalhost db user nobody-here
            IdentityFile ~/keys/db-key
        """,
        name="conf.d/db.conf",
    )
    root = deploy_dir(
        {
            "inventory.py": "HOSTS = ['web-one', ('db', {'ssh_user': 'root'})]\n",
            "deploy.py": where_deploy(tmp_path),
        }
    )
    result = pyinfra("inventory.py", "deploy.py", cwd=root, port=False, env={"HOME": str(home)})
    # db's user comes from the data (root), so `Match user nobody-here` gave no key:
    assert result.returncode == 1, result.output
    assert reached(tmp_path, "web-one") == ("127.0.12.2", sshd.port)
    assert "authentication failed for root@db" in result.output
    assert "Name or service not known" not in result.output

    # --user is the remote user `Match user` sees, as with ssh -l.
    root = deploy_dir({"inventory.py": "HOSTS = ['db']\n"})
    result = pyinfra(
        "inventory.py", "deploy.py", "--user", "root", cwd=root, port=False, env={"HOME": str(home)}
    )
    assert result.returncode == 1
    assert "authentication failed for root@db" in result.output
    config = home / ".ssh" / "conf.d" / "db.conf"
    config.write_text(config.read_text().replace("user nobody-here", "user root"))
    result = pyinfra(
        "inventory.py", "deploy.py", "--user", "root", cwd=root, port=False, env={"HOME": str(home)}
    )
    assert result.returncode == 0, result.output
    assert reached(tmp_path, "db") == ("127.0.12.3", sshd.port)


def test_data_and_flags_beat_the_config(pyinfra, deploy_dir, sshd, tmp_path, home):
    add_key(home, sshd, "good")
    write_config(
        home,
        """
        Host app
            HostName 127.0.12.4
            Port 1
            User nobody-here
            IdentityFile ~/keys/good
            ConnectTimeout 3
            ServerAliveInterval 5
            ServerAliveCountMax 2
        """,
    )
    root = deploy_dir(
        {
            "inventory.py": "HOSTS = [('app', {'ssh_hostname': '127.0.12.5'})]\n",
            "deploy.py": where_deploy(tmp_path),
        }
    )
    # the config's Port 1 alone: refused, and the message says where it went
    result = pyinfra(
        "inventory.py", "deploy.py", "--user", "root", cwd=root, port=False, env={"HOME": str(home)}
    )
    assert result.returncode == 1
    assert "root@127.0.12.5:1" in result.output
    result = pyinfra("inventory.py", "deploy.py", "--user", "root", cwd=root, env={"HOME": str(home)})
    assert result.returncode == 0, result.output
    assert reached(tmp_path, "app") == ("127.0.12.5", sshd.port)


def test_config_file_from_data_and_option(pyinfra, deploy_dir, sshd, tmp_path, home):
    add_key(home, sshd, "k")
    other = tmp_path / "other_config"
    other.write_text(
        f"Host elsewhere\n  HostName 127.0.12.6\n  User root\n  Port {sshd.port}\n  IdentityFile ~/keys/k\n"
    )
    write_config(home, "Host elsewhere\n  HostName 127.0.12.7\n  Port 1\n")
    root = deploy_dir(
        {
            "inventory.py": "HOSTS = ['elsewhere']\n",
            "deploy.py": where_deploy(tmp_path),
        }
    )
    result = pyinfra(
        "inventory.py", "deploy.py", "--ssh-config", other, cwd=root, port=False, env={"HOME": str(home)}
    )
    assert result.returncode == 0, result.output
    assert reached(tmp_path, "elsewhere") == ("127.0.12.6", sshd.port)
    (tmp_path / "where-elsewhere").unlink()
    root = deploy_dir({"inventory.py": f"HOSTS = [('elsewhere', {{'ssh_config_file': '{other}'}})]\n"})
    result = pyinfra("inventory.py", "deploy.py", cwd=root, port=False, env={"HOME": str(home)})
    assert result.returncode == 0, result.output
    assert reached(tmp_path, "elsewhere") == ("127.0.12.6", sshd.port)
    result = pyinfra(
        "inventory.py",
        "deploy.py",
        "--ssh-config",
        tmp_path / "missing",
        cwd=root,
        port=False,
        env={"HOME": str(home)},
    )
    assert result.returncode != 0
    assert f"ssh_config file not found: {tmp_path}/missing" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("how", ["config", "data"])
def test_forward_agent(pyinfra, deploy_dir, sshd, tmp_path, home, how):
    """ForwardAgent yes (or ssh_forward_agent): commands on the host see the local
    agent's keys; without it they see no agent."""
    import subprocess

    add_key(home, sshd, "login")
    agent_key = tmp_path / "agent_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fwd-test", "-f", str(agent_key)], check=True
    )
    forward = "ForwardAgent yes" if how == "config" else ""
    write_config(
        home,
        f"""
        Host fwd fwd-off
            HostName 127.0.0.2
            User root
            Port {sshd.port}
            IdentityFile ~/keys/login
            IdentitiesOnly yes
        Host fwd
            {forward}
        """,
    )
    data = ", {'ssh_forward_agent': True}" if how == "data" else ""
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = [('fwd'{data}), 'fwd-off']\n",
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('ssh-add -L > {tmp_path}/keys-{{{{ host.name }}}} 2>&1 || true')
            """,
        }
    )
    socket_path = tmp_path / "agent.sock"
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            if socket_path.exists():
                break
            subprocess.run(["sleep", "0.05"])
        env = {"SSH_AUTH_SOCK": str(socket_path), "PATH": "/usr/bin:/bin"}
        subprocess.run(["ssh-add", "-q", str(agent_key)], check=True, env=env, capture_output=True)
        result = pyinfra("inventory.py", "deploy.py", cwd=root, port=False, env={"HOME": str(home), **env})
        assert result.returncode == 0, result.output
        assert "fwd-test" in (tmp_path / "keys-fwd").read_text(), result.output
        assert "fwd-test" not in (tmp_path / "keys-fwd-off").read_text()
    finally:
        agent.terminate()
        agent.wait()
