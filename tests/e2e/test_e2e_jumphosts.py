"""Hosts reachable only through jump hosts: ProxyJump (config, chains, none), the
ssh_proxy_jump data key, ProxyCommand; one bastion login shared by every target.

127.0.13.2 and 127.0.13.3-.9 are made private with iptables OUTPUT rules: a connection
to the test sshd there is rejected unless the bastion login's uid makes it (sshd
connects a direct-tcpip channel as the logged-in user). 127.0.13.2 accepts JUMP1's
connections only, 127.0.13.3-.9 JUMP2's only."""

import shutil
import subprocess
import textwrap

import pytest
from support.netrules import reject_rule, rules

JUMP1 = "pyinfra-t-jump1"
JUMP2 = "pyinfra-t-jump2"
RULE_TAG = "pyinfra-sshcfg-jumphosts"


def _ensure_user(name):
    if subprocess.run(["id", "-u", name], capture_output=True).returncode != 0:
        result = subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], capture_output=True, text=True)
        if result.returncode != 0 and subprocess.run(["id", "-u", name]).returncode != 0:
            raise RuntimeError(f"useradd {name} failed: {result.stderr}")
    # A locked account ("!") may not log in over SSH, even with a key.
    subprocess.run(["usermod", "-p", "*", name], check=True)
    return int(subprocess.run(["id", "-u", name], capture_output=True, text=True).stdout)


@pytest.fixture(scope="module")
def private_network(sshd):
    jump1, jump2 = _ensure_user(JUMP1), _ensure_user(JUMP2)
    with rules(
        [
            reject_rule("127.0.13.2", sshd.port, RULE_TAG, ["-m", "owner", "!", "--uid-owner", str(jump1)]),
            reject_rule(
                ["-m", "iprange", "--dst-range", "127.0.13.3-127.0.13.9"],
                sshd.port,
                RULE_TAG,
                ["-m", "owner", "!", "--uid-owner", str(jump2)],
            ),
        ]
    ):
        yield


def config(home, text):
    (home / ".ssh" / "config").write_text(textwrap.dedent(text).lstrip("\n"))


def deploy(tmp_path):
    return f"""
        from pyinfra.modules import server
        server.shell('echo $SSH_CONNECTION > {tmp_path}/where-{{{{ host.name }}}}')
    """


def reached(tmp_path, name):
    return (tmp_path / f"where-{name}").read_text().split()[2]


def test_direct_connection_is_refused(pyinfra, deploy_dir, private_network, sshd, tmp_path, home):
    config(home, "Host db-1\n  HostName 127.0.13.3\n  ProxyJump none\n  User root\n")
    root = deploy_dir({"inventory.py": "HOSTS = ['db-1', '127.0.13.2']\n", "deploy.py": deploy(tmp_path)})
    result = pyinfra("inventory.py", "deploy.py", cwd=root, env={"HOME": str(home)})
    assert result.returncode == 1
    assert f"root@127.0.13.3:{sshd.port}: Connection refused" in result.output
    assert f"root@127.0.13.2:{sshd.port}: Connection refused" in result.output


def test_config_proxyjump_one_bastion_login(pyinfra, deploy_dir, private_network, sshd, tmp_path, home):
    config(
        home,
        f"""
        Host bastion
            HostName 127.0.13.1
            User {JUMP2}
        Host db-*
            ProxyJump bastion
            User root
        Host db-1
            HostName 127.0.13.3
        Host db-2
            HostName 127.0.13.4
        Host db-3
            HostName 127.0.13.5
        Host *
            Port {sshd.port}
    """,
    )
    root = deploy_dir({"inventory.py": "HOSTS = ['db-1', 'db-2', 'db-3']\n", "deploy.py": deploy(tmp_path)})
    result = pyinfra("inventory.py", "deploy.py", "--debug", cwd=root, port=False, env={"HOME": str(home)})
    assert result.returncode == 0, result.output
    assert [reached(tmp_path, f"db-{n}") for n in (1, 2, 3)] == ["127.0.13.3", "127.0.13.4", "127.0.13.5"]
    # one bastion handshake for the three targets
    assert result.output.count(f"logged into jump host {JUMP2}@127.0.13.1") == 1, result.output

    # A failed hop is named, with its own reason
    config(home, (home / ".ssh" / "config").read_text().replace(f"User {JUMP2}", "User nobody-here"))
    result = pyinfra("inventory.py", "deploy.py", cwd=root, port=False, env={"HOME": str(home)})
    assert result.returncode == 1
    assert (
        f"cannot reach db-1 through 127.0.13.1:{sshd.port}: authentication failed for nobody-here@bastion"
    ) in result.output, result.output
    assert "Traceback" not in result.output


def test_two_hop_chain_from_data(pyinfra, deploy_dir, private_network, sshd, tmp_path, home):
    chain = f"{JUMP1}@127.0.13.1:{sshd.port},{JUMP2}@127.0.13.2:{sshd.port}"
    root = deploy_dir(
        {
            "inventory.py": f"HOSTS = [('127.0.13.6', {{'ssh_proxy_jump': '{chain}'}})]\n",
            "deploy.py": deploy(tmp_path),
        }
    )
    result = pyinfra("inventory.py", "deploy.py", "--user", "root", cwd=root, env={"HOME": str(home)})
    assert result.returncode == 0, result.output
    assert reached(tmp_path, "127.0.13.6") == "127.0.13.6"
    # JUMP1 alone cannot reach the target: the second hop was needed
    one_hop = f"{JUMP1}@127.0.13.1:{sshd.port}"
    root = deploy_dir({"inventory.py": f"HOSTS = [('127.0.13.6', {{'ssh_proxy_jump': '{one_hop}'}})]\n"})
    result = pyinfra("inventory.py", "deploy.py", "--user", "root", cwd=root, env={"HOME": str(home)})
    assert result.returncode == 1
    assert f"cannot reach 127.0.13.6 through 127.0.13.1:{sshd.port}" in result.output


def test_proxycommand(pyinfra, deploy_dir, private_network, sshd, tmp_path, home):
    key = home / ".ssh" / "id_ed25519"
    proxy = (
        f"ssh -F /dev/null -i {key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
        f" -o LogLevel=ERROR -p %p -W %h:%p {JUMP2}@127.0.13.1"
    )
    config(
        home,
        f"""
        Host app
            HostName 127.0.13.7
            User root
            Port {sshd.port}
            ProxyCommand {proxy}
    """,
    )
    root = deploy_dir({"inventory.py": "HOSTS = ['app']\n", "deploy.py": deploy(tmp_path)})
    result = pyinfra("inventory.py", "deploy.py", cwd=root, port=False, env={"HOME": str(home)})
    assert result.returncode == 0, result.output
    assert reached(tmp_path, "app") == "127.0.13.7"


def test_agent_key_and_encrypted_key_on_the_hop(pyinfra, deploy_dir, private_network, sshd, tmp_path, home):
    """No key on disk for the target: the agent's; the bastion's key is encrypted and
    ssh_key_password opens it."""
    (home / ".ssh" / "id_ed25519").unlink()
    (home / "keys").mkdir()
    locked = home / "keys" / "locked"
    shutil.copy(sshd.client_key, locked)
    locked.chmod(0o600)
    subprocess.run(["ssh-keygen", "-p", "-q", "-N", "hop-s3cret", "-f", str(locked)], check=True)
    config(
        home,
        f"""
        Host bastion
            HostName 127.0.13.1
            User {JUMP2}
            IdentityFile ~/keys/locked
        Host db-*
            ProxyJump bastion
            User root
        Host db-8
            HostName 127.0.13.8
        Host *
            Port {sshd.port}
    """,
    )
    root = deploy_dir(
        {
            "inventory.py": "HOSTS = [('db-8', {'ssh_key_password': 'hop-s3cret'})]\n",
            "deploy.py": deploy(tmp_path),
        }
    )
    socket_path = tmp_path / "agent.sock"
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        env = {"HOME": str(home), "SSH_AUTH_SOCK": str(socket_path)}
        for _ in range(100):
            if socket_path.exists():
                break
            subprocess.run(["sleep", "0.05"])
        # no agent key yet: the target refuses (the encrypted key is the bastion's only)
        result = pyinfra("inventory.py", "deploy.py", cwd=root, port=False, env=env)
        assert result.returncode == 1
        assert "authentication failed for root@db-8" in result.output, result.output
        subprocess.run(
            ["ssh-add", "-q", sshd.client_key],
            check=True,
            env={"SSH_AUTH_SOCK": str(socket_path), "PATH": "/usr/bin:/bin"},
            capture_output=True,
        )
        result = pyinfra("inventory.py", "deploy.py", cwd=root, port=False, env=env)
        assert result.returncode == 0, result.output
        assert reached(tmp_path, "db-8") == "127.0.13.8"
        assert "hop-s3cret" not in result.output
    finally:
        agent.terminate()
        agent.wait()
