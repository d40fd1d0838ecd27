"""iptables OUTPUT rules for tests (the Debian iptables package, installed when
missing like tests/support/sshd.py installs openssh-server), tagged so they can be removed."""

import contextlib
import shutil
import subprocess


def ensure_iptables():
    if shutil.which("iptables"):
        return
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env)
    result = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "iptables"], capture_output=True, text=True, env=env
    )
    if not shutil.which("iptables"):
        raise RuntimeError(f"installing iptables failed: {result.stdout}{result.stderr}")


def reject_rule(address, port, tag, extra=()):
    """The OUTPUT rule spec rejecting TCP connections to address:port (address may be
    `-m iprange --dst-range A-B` words instead), with `extra` matches before the target."""
    where = ["-d", address] if isinstance(address, str) else list(address)
    return [
        "OUTPUT",
        "-p",
        "tcp",
        *where,
        "--dport",
        str(port),
        *extra,
        "-m",
        "comment",
        "--comment",
        tag,
        "-j",
        "REJECT",
        "--reject-with",
        "tcp-reset",
    ]


def drop_rule(address, port, tag):
    """The OUTPUT rule spec dropping TCP packets to address:port without a word: a
    blackhole (a host gone, a firewall that drops), no reset, no ICMP."""
    return ["OUTPUT", "-p", "tcp", "-d", address, "--dport", str(port),
            "-m", "comment", "--comment", tag, "-j", "DROP"]


def matched(tag):
    """Packets the OUTPUT rules tagged `tag` have matched so far (proof they acted)."""
    listing = subprocess.run(["iptables", "-L", "OUTPUT", "-v", "-n", "-x"], capture_output=True,
                             text=True, check=True).stdout
    return sum(int(line.split()[0]) for line in listing.splitlines() if f"/* {tag} */" in line)


def add_rule(spec):
    ensure_iptables()
    subprocess.run(["iptables", "-A", *spec], check=True)


def remove_rule(spec):
    subprocess.run(["iptables", "-D", *spec], capture_output=True)


@contextlib.contextmanager
def rules(specs):
    made = []
    try:
        for spec in specs:
            add_rule(spec)
            made.append(spec)
        yield
    finally:
        for spec in made:
            remove_rule(spec)
