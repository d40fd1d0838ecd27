"""Hosts that are not this Debian machine as root, for end-to-end tests.

- A busybox-only root (like Alpine): Debian's ``busybox-static`` copied into a
  root-owned directory, ``busybox --install -s`` inside, with /etc/passwd, /dev/null
  and friends. The test sshd logs into it through ``ChrootDirectory`` under a
  ``Match LocalAddress`` block, so ``root@127.0.0.250`` is that host.
- A login without sudo (``pyinfra-f-nosudo``) on this machine, whose authorized keys
  file is readable by it.

No pytest dependency: the fixtures of tests/test_e2e_hosts.py use these with a
TestSSHD of their own (its ``extra_config`` must be set before it starts).
"""

import os
import pwd
import shutil
import subprocess
import tempfile

BUSYBOX = "/bin/busybox"
# No other test uses this address: it reaches the busybox root, not this machine.
BUSYBOX_ADDRESS = "127.0.0.250"
NOSUDO_USER = "pyinfra-f-nosudo"

# What the busybox host says it is (Alpine's os-release, the userland it stands for).
OS_RELEASE = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n'

# The login shell of root on the machine is /bin/bash; sshd runs it inside the chroot,
# where busybox has no bash: a two-line stand-in runs busybox's sh instead.
BASH_STANDIN = '#!/bin/sh\nexec /bin/sh "$@"\n'


def _apt_install(package):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    output = []
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output.append("$ {}\n{}".format(" ".join(cmd), proc.stdout))
    return "\n".join(output)


def ensure_busybox_installed():
    """Install busybox-static with apt-get when missing; RuntimeError if that fails."""
    if os.path.exists(BUSYBOX):
        return
    output = _apt_install("busybox-static")
    if not os.path.exists(BUSYBOX):
        raise RuntimeError("installing busybox-static failed:\n" + output)


def make_busybox_root():
    """A busybox-only root directory (root-owned, 0755, every parent root-owned and not
    writable by others, as ChrootDirectory wants). Returns its path."""
    ensure_busybox_installed()
    root = tempfile.mkdtemp(prefix="pyinfra-f-busybox-", dir="/var/lib")
    os.chmod(root, 0o755)
    for name in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "dev", "root", "tmp", "home", "var/tmp"):
        os.makedirs(os.path.join(root, name), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    os.chmod(os.path.join(root, "var/tmp"), 0o1777)
    os.chmod(os.path.join(root, "root"), 0o700)
    shutil.copy2(BUSYBOX, os.path.join(root, "bin", "busybox"))
    subprocess.run(["chroot", root, "/bin/busybox", "--install", "-s"], check=True)
    # busybox's dpkg and rpm applets would pass for the real package managers.
    for name in ("dpkg", "dpkg-deb", "rpm", "rpm2cpio"):
        for directory in ("bin", "usr/bin", "sbin", "usr/sbin"):
            path = os.path.join(root, directory, name)
            if os.path.lexists(path):
                os.unlink(path)
    bash = os.path.join(root, "bin", "bash")
    with open(bash, "w") as handle:
        handle.write(BASH_STANDIN)
    os.chmod(bash, 0o755)
    files = {
        "etc/passwd": "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        "etc/group": "root:x:0:\nwheel:x:10:root\nnogroup:x:65534:\n",
        "etc/shadow": "root:*:19000:0:99999:7:::\n",
        "etc/os-release": OS_RELEASE,
        "etc/hostname": "busybox\n",
    }
    for name, text in files.items():
        with open(os.path.join(root, name), "w") as handle:
            handle.write(text)
    for name, major, minor in (
        ("null", 1, 3),
        ("zero", 1, 5),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ):
        path = os.path.join(root, "dev", name)
        subprocess.run(["mknod", "-m", "666", path, "c", str(major), str(minor)], check=True)
    return root


def remove_busybox_root(root):
    shutil.rmtree(root, ignore_errors=True)


def busybox_config(root):
    """sshd_config lines: logins to BUSYBOX_ADDRESS land in `root`."""
    return [
        f"Match LocalAddress {BUSYBOX_ADDRESS}",
        f"    ChrootDirectory {root}",
        "Match all",
    ]


def ensure_nosudo_user():
    """The user NOSUDO_USER (no sudo rights, shell /bin/sh), made once and kept."""
    try:
        pwd.getpwnam(NOSUDO_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--create-home", "--shell", "/bin/sh", NOSUDO_USER],
            check=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    # useradd locks the account ("!"), and sshd without PAM refuses locked accounts
    # even for key logins; "*" is "no password", not locked.
    subprocess.run(["usermod", "-p", "*", NOSUDO_USER], check=True)
    return pwd.getpwnam(NOSUDO_USER)


def nosudo_config(directory):
    """sshd_config lines letting NOSUDO_USER log in with the keys in
    `directory`/authorized_keys (a directory that user can read: the sshd's own key
    directory is private to root). Fill it with install_key() once the sshd made its key."""
    ensure_nosudo_user()
    os.chmod(directory, 0o755)
    keys = os.path.join(directory, "authorized_keys")
    return [f"Match User {NOSUDO_USER}", f"    AuthorizedKeysFile {keys}", "Match all"]


def install_key(directory, public_key_path):
    keys = os.path.join(directory, "authorized_keys")
    shutil.copyfile(public_key_path, keys)
    os.chmod(keys, 0o644)
