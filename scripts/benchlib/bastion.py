"""`scripts/bench --bastion [--hosts 10,25] [--runs N]`: N targets reachable only
through one bastion (issue 12).

The targets 127.0.15.2, 127.0.15.3, ... are made private with an iptables OUTPUT rule
(only the bastion login's uid may connect to them). The same one-command deploy runs
through the real `pyinfra` command twice per count: with `ssh_proxy_jump` (one shared
bastion connection, a direct-tcpip channel per target) and with a ProxyCommand running
`ssh -W` per target (one bastion handshake per target, what a ProxyCommand costs)."""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO_DIR, "tests"))

JUMP_USER = "pyinfra-t-benchjump"
RULE_TAG = "pyinfra-bench-bastion"


def log(message):
    print(message, file=sys.stderr, flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="scripts/bench --bastion")
    parser.add_argument("--bastion", action="store_true")
    parser.add_argument("--hosts", default="10,25", help="target counts (default 10,25)")
    parser.add_argument("--runs", type=int, default=2, help="runs per mode (median shown)")
    args = parser.parse_args(argv)
    args.hosts = [int(part) for part in args.hosts.split(",") if part.strip()]
    if not args.hosts or any(n < 1 or n > 250 for n in args.hosts):
        parser.error("--hosts: counts between 1 and 250")
    return args


def ensure_user():
    if subprocess.run(["id", "-u", JUMP_USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", JUMP_USER], check=True)
    subprocess.run(["usermod", "-p", "*", JUMP_USER], check=True)
    return subprocess.run(["id", "-u", JUMP_USER], capture_output=True, text=True).stdout.strip()


def run(pyinfra, inventory, deploy, home, cwd):
    env = dict(os.environ, HOME=home, NO_COLOR="1")
    env.pop("SSH_AUTH_SOCK", None)
    started = time.monotonic()
    result = subprocess.run(
        [pyinfra, inventory, deploy, "--debug"], cwd=cwd, env=env, capture_output=True, text=True
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    if result.returncode != 0:
        print(output, file=sys.stderr)
        raise SystemExit(f"bench --bastion: pyinfra failed (exit {result.returncode})")
    return elapsed, output.count("logged into jump host")


def main(argv):
    from netrules import reject_rule, rules
    from sshd import TestSSHD, ensure_sshd_installed

    args = parse_args(argv)
    pyinfra = shutil.which("pyinfra")
    if pyinfra is None:
        raise SystemExit("bench --bastion: the pyinfra command is not installed")
    ensure_sshd_installed()
    uid = ensure_user()
    sshd = TestSSHD()
    sshd.start()
    work = tempfile.mkdtemp(prefix="pyinfra-bench-bastion-")
    try:
        home = os.path.join(work, "home")
        os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
        key = os.path.join(home, ".ssh", "id_ed25519")
        shutil.copy(sshd.client_key, key)
        os.chmod(key, 0o600)
        with open(os.path.join(work, "deploy.py"), "w") as handle:
            handle.write("from pyinfra.modules import server\nserver.shell('true')\n")
        last = 1 + max(args.hosts)
        spec = reject_rule(
            ["-m", "iprange", "--dst-range", f"127.0.15.2-127.0.15.{last}"],
            sshd.port,
            RULE_TAG,
            ["-m", "owner", "!", "--uid-owner", uid],
        )
        jump = f"{JUMP_USER}@127.0.15.1:{sshd.port}"
        proxy = (
            f"ssh -F /dev/null -i {key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
            f"-o LogLevel=ERROR -W %h:%p -p {sshd.port} {JUMP_USER}@127.0.15.1"
        )
        rows = []
        with rules([spec]):
            for count in args.hosts:
                targets = [f"127.0.15.{n}" for n in range(2, 2 + count)]
                modes = {
                    "shared bastion (ssh_proxy_jump)": {"ssh_proxy_jump": jump},
                    "ProxyCommand ssh -W": {},
                }
                for label, data in modes.items():
                    inventory = os.path.join(work, "inventory.py")
                    hosts = [(name, dict(data, ssh_user="root", ssh_port=sshd.port)) for name in targets]
                    with open(inventory, "w") as handle:
                        handle.write(f"HOSTS = {hosts!r}\n")
                    with open(os.path.join(home, ".ssh", "config"), "w") as handle:
                        if not data:
                            handle.write(f"Host 127.0.15.*\n  ProxyCommand {proxy}\n")
                    times, logins = [], 0
                    for _ in range(args.runs):
                        elapsed, logins = run(pyinfra, inventory, "deploy.py", home, work)
                        times.append(elapsed)
                    handshakes = logins if data else count
                    rows.append((count, label, statistics.median(times), handshakes))
                    log(f"{count} targets, {label}: {statistics.median(times):.2f}s")
        print(f"{'targets':>7}  {'mode':<34} {'wall (median)':>13}  bastion handshakes")
        for count, label, seconds, handshakes in rows:
            print(f"{count:>7}  {label:<34} {seconds:>12.2f}s  {handshakes}")
    finally:
        sshd.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0
