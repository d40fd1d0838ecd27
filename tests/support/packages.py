"""Debian packages the end-to-end tests of the package and firewall modules run for
real (dnf, rpm, createrepo_c, iptables): installed with apt-get when missing, like
tests/support/sshd.py installs openssh-server. No pytest dependency, never skips: a part that
is still missing afterwards is a RuntimeError naming it.
"""

import os
import shutil
import subprocess

# The program each test needs -> the Debian package that has it.
DNF_PARTS = {"dnf": "dnf", "rpm": "rpm", "rpmbuild": "rpm", "createrepo_c": "createrepo-c", "gpg": "gpg"}
IPTABLES_PARTS = {"iptables": "iptables", "iptables-save": "iptables", "ip6tables": "iptables"}

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def missing(programs) -> list[str]:
    return [program for program in programs if shutil.which(program, path=PATH) is None]


def ensure_packages(parts: dict) -> None:
    """Make every program of `parts` ({program: Debian package}) runnable."""
    absent = missing(parts)
    if not absent:
        return
    packages = sorted({parts[program] for program in absent})
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", PATH=PATH)
    output = []
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        output.append(f"$ {' '.join(command)} (exit {result.returncode})\n{result.stdout}{result.stderr}")
    still = missing(parts)
    if still:
        raise RuntimeError(f"{', '.join(still)} still missing after apt-get:\n" + "\n".join(output)[-3000:])
