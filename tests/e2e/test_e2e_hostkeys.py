"""Host keys: StrictHostKeyChecking accept-new (default), yes and no, from data or
ssh_config; hashed and [host]:port entries; global known_hosts; jump hosts too. And
connect retries for hosts that refuse while they boot."""

import subprocess
import threading
import time

from support.netrules import reject_rule, remove_rule, rules


def fingerprint(public_key_path):
    out = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(public_key_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()[1]


def other_key(tmp_path):
    path = tmp_path / "otherkey"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return (tmp_path / "otherkey.pub").read_text().split()[:2]


def inventory(deploy_dir, tmp_path, hosts):
    return deploy_dir(
        {
            "inventory.py": f"HOSTS = {hosts!r}\n",
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('touch {tmp_path}/ran-{{{{ host.name }}}}')
        """,
        }
    )


def test_yes_refuses_an_unknown_host(pyinfra, deploy_dir, sshd, tmp_path, home):
    root = inventory(deploy_dir, tmp_path, [("127.0.14.2", {"ssh_strict_host_key_checking": "yes"})])
    result = pyinfra("inventory.py", "deploy.py", cwd=root, env={"HOME": str(home)})
    assert result.returncode == 1
    expected = (
        f"host key of [127.0.14.2]:{sshd.port} is not known (offered ssh-ed25519 key "
        f"{fingerprint(sshd.host_public_key)})"
    )
    assert expected in result.output, result.output
    assert f"{home}/.ssh/known_hosts" in result.output
    assert not (tmp_path / "ran-127.0.14.2").exists()
    assert not (home / ".ssh" / "known_hosts").exists()

    # A global known_hosts file (GlobalKnownHostsFile) holding the key: yes accepts it
    known = tmp_path / "global_known_hosts"
    key = open(sshd.host_public_key).read().split()[:2]
    known.write_text(f"[127.0.14.2]:{sshd.port} {key[0]} {key[1]}\n")
    (home / ".ssh" / "config").write_text(f"Host *\n  GlobalKnownHostsFile {known}\n")
    result = pyinfra("inventory.py", "deploy.py", cwd=root, env={"HOME": str(home)})
    assert result.returncode == 0, result.output


def test_changed_hashed_key_refused_with_file_and_line(pyinfra, deploy_dir, sshd, tmp_path, home):
    fake = other_key(tmp_path)
    known = home / ".ssh" / "known_hosts"
    known.write_text(
        f"# comment\nsomewhere ssh-ed25519 {fake[1]}\n[127.0.14.3]:{sshd.port} {fake[0]} {fake[1]}\n"
    )
    subprocess.run(["ssh-keygen", "-H", "-f", str(known)], check=True, capture_output=True)
    assert "127.0.14.3" not in known.read_text()  # hashed
    root = inventory(deploy_dir, tmp_path, ["127.0.14.3"])
    result = pyinfra("inventory.py", "deploy.py", cwd=root, env={"HOME": str(home)})
    assert result.returncode == 1
    assert (
        f"host key of [127.0.14.3]:{sshd.port} has CHANGED (offered ssh-ed25519 key "
        f"{fingerprint(sshd.host_public_key)})"
    ) in result.output, result.output
    assert f"remove the old key at {known}:3" in result.output
    # ssh_config StrictHostKeyChecking no: connects anyway, with a warning
    (home / ".ssh" / "config").write_text("Host 127.0.14.*\n  StrictHostKeyChecking no\n")
    result = pyinfra("inventory.py", "deploy.py", cwd=root, env={"HOME": str(home)})
    assert result.returncode == 0, result.output
    assert "has changed (StrictHostKeyChecking no)" in result.output
    # the data key beats the config
    root = inventory(deploy_dir, tmp_path, [("127.0.14.3", {"ssh_strict_host_key_checking": "accept-new"})])
    result = pyinfra("inventory.py", "deploy.py", cwd=root, env={"HOME": str(home)})
    assert result.returncode == 1
    assert "has CHANGED" in result.output


def test_changed_key_of_a_jump_host(pyinfra, deploy_dir, sshd, tmp_path, home):
    fake = other_key(tmp_path)
    known = home / ".ssh" / "known_hosts"
    known.write_text(f"[127.0.14.4]:{sshd.port} {fake[0]} {fake[1]}\n")
    root = inventory(
        deploy_dir, tmp_path, [("127.0.14.5", {"ssh_proxy_jump": f"root@127.0.14.4:{sshd.port}"})]
    )
    result = pyinfra("inventory.py", "deploy.py", cwd=root, env={"HOME": str(home)})
    assert result.returncode == 1
    assert (
        f"cannot reach 127.0.14.5 through 127.0.14.4:{sshd.port}: host key of "
        f"[127.0.14.4]:{sshd.port} has CHANGED"
    ) in result.output, result.output
    assert f"{known}:1" in result.output


def test_connect_retries_wait_for_a_booting_host(pyinfra, deploy_dir, sshd, tmp_path, home):
    """127.0.14.9 refuses connections for ~2s (an iptables rule removed meanwhile)."""
    spec = reject_rule("127.0.14.9", sshd.port, "pyinfra-sshcfg-retries")
    root = inventory(deploy_dir, tmp_path, ["127.0.14.9"])
    with rules([spec]):
        result = pyinfra("inventory.py", "deploy.py", cwd=root, env={"HOME": str(home)})
        assert result.returncode == 1
        assert "Connection refused" in result.output
        assert "attempts" not in result.output
        result = pyinfra(
            "inventory.py", "deploy.py", "--connect-retries", "1", cwd=root, env={"HOME": str(home)}
        )
        assert result.returncode == 1
        assert "Connection refused (after 2 attempts)" in result.output, result.output
        timer = threading.Timer(2.0, remove_rule, [spec])
        timer.start()
        try:
            started = time.monotonic()
            result = pyinfra(
                "inventory.py", "deploy.py", "--connect-retries", "6", cwd=root, env={"HOME": str(home)}
            )
        finally:
            timer.join()
    assert result.returncode == 0, result.output
    assert (tmp_path / "ran-127.0.14.9").exists()
    assert time.monotonic() - started < 15
