"""KnownHosts: the indexed known_hosts reader finds what OpenSSH's file says, plain,
hashed and [host]:port names alike (issue 15: paramiko's own lookup is quadratic)."""

import subprocess

import paramiko

from pyinfra.api.connectors.ssh.hostkeys import KnownHosts


def public_key(tmp_path, name):
    path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    key_type, data = (tmp_path / (name + ".pub")).read_text().split()[:2]
    return key_type, data


def test_plain_hashed_and_port_names_are_found(tmp_path):
    first, second, hashed = (public_key(tmp_path, name) for name in ("one", "two", "three"))
    known = tmp_path / "known_hosts"
    known.write_text(
        "# a comment\n"
        f"web1,10.0.0.1 {first[0]} {first[1]}\n"
        f"[web2]:2222 {second[0]} {second[1]}\n"
        f"secret {hashed[0]} {hashed[1]}\n"
    )
    subprocess.run(["ssh-keygen", "-H", "-f", str(known)], check=True, capture_output=True)
    assert "secret" not in known.read_text()
    with open(known, "a") as handle:
        handle.write("web9 ssh-unknown-type AAAA\n")  # skipped, as paramiko does

    hosts = KnownHosts(str(known))
    assert hosts.lookup("web1")["ssh-ed25519"].get_base64() == first[1]
    assert hosts.lookup("10.0.0.1")["ssh-ed25519"].get_base64() == first[1]
    assert hosts.lookup("[web2]:2222")["ssh-ed25519"].get_base64() == second[1]
    assert hosts.lookup("secret")["ssh-ed25519"].get_base64() == hashed[1]
    assert hosts.lookup("web2") == {}
    assert hosts.lookup("unknown") == {}


def test_first_line_wins_for_a_key_type_and_added_keys_are_found(tmp_path):
    first, second = (public_key(tmp_path, name) for name in ("one", "two"))
    known = tmp_path / "known_hosts"
    known.write_text(f"web1 {first[0]} {first[1]}\nweb1 {second[0]} {second[1]}\n")
    hosts = KnownHosts(str(known))
    assert hosts.lookup("web1")["ssh-ed25519"].get_base64() == first[1]

    key = paramiko.Ed25519Key.from_private_key_file(str(tmp_path / "two"))
    hosts.add("[web3]:2200", key)
    assert hosts.lookup("[web3]:2200")["ssh-ed25519"].get_base64() == second[1]
    assert f"[web3]:2200 ssh-ed25519 {second[1]}" in known.read_text()
    # Read again from the file, as another process would.
    assert KnownHosts(str(known)).lookup("[web3]:2200")["ssh-ed25519"].get_base64() == second[1]
