"""Non-root logins for end-to-end tests: users made once, idempotently, on this machine.

Every user logs in with the test sshd's client key (tests/support/sshd.py makes its authorized
key readable to them) and has a home directory. No pytest dependency; the fixtures in
tests/conftest.py call ``ensure_test_users()``.

- ``pyinfra-t-sudo``: passwordless sudo
- ``pyinfra-t-sudopw``: sudo asks for ``SUDO_PASSWORD``
- ``pyinfra-t-fish``: login shell fish, passwordless sudo
- ``pyinfra-t-tty``: passwordless sudo, but sudoers says ``requiretty`` for it
- ``pyinfra-t-nosudo``: no sudo at all
- ``pyinfra-t-nob64``: passwordless sudo to a PATH without base64 (a host without it)
"""

import os
import shutil
import subprocess

SUDO = "pyinfra-t-sudo"
SUDO_PW = "pyinfra-t-sudopw"
FISH = "pyinfra-t-fish"
TTY = "pyinfra-t-tty"
NOSUDO = "pyinfra-t-nosudo"
NOB64 = "pyinfra-t-nob64"
# The PATH pyinfra-t-nob64's sudo gives commands: every command of this machine but base64.
NOB64_PATH = "/opt/pyinfra-t-nob64/bin"

# The login password of every test user, and the one pyinfra-t-sudopw's sudo asks for.
SUDO_PASSWORD = "t-Sudo-pw-1"

SUDOERS_FILE = "/etc/sudoers.d/pyinfra-t-users"
SUDOERS = f"""\
{SUDO} ALL=(ALL) NOPASSWD: ALL
{FISH} ALL=(ALL) NOPASSWD: ALL
{TTY} ALL=(ALL) NOPASSWD: ALL
{SUDO_PW} ALL=(ALL) ALL
{NOB64} ALL=(ALL) NOPASSWD: ALL
Defaults:{TTY} requiretty
Defaults:{NOB64} secure_path="{NOB64_PATH}"
"""

USERS = {
    SUDO: "/bin/sh",
    SUDO_PW: "/bin/sh",
    FISH: "fish",
    TTY: "/bin/sh",
    NOSUDO: "/bin/sh",
    NOB64: "/bin/sh",
}


def _run(*command, input=None):
    result = subprocess.run(command, input=input, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")


def _exists(name):
    return subprocess.run(["id", "-u", name], capture_output=True).returncode == 0


def ensure_test_users():
    """Make the test users and their sudoers file when missing (safe to call again, and
    from several test processes: useradd of a user made meanwhile is not an error)."""
    for name, shell in USERS.items():
        path = shutil.which(shell) if not shell.startswith("/") else shell
        if path is None:
            raise RuntimeError(f"{shell} is not installed (tests/support/sshd.py installs it)")
        if not _exists(name):
            result = subprocess.run(["useradd", "-m", "-s", path, name], capture_output=True, text=True)
            if result.returncode != 0 and not _exists(name):
                raise RuntimeError(f"useradd {name} failed: {result.stderr}")
        # A locked account ("!" password) may not log in over SSH, even with a key.
        _run("chpasswd", input=f"{name}:{SUDO_PASSWORD}\n")
    _make_path_without_base64()
    current = None
    if os.path.exists(SUDOERS_FILE):
        with open(SUDOERS_FILE) as handle:
            current = handle.read()
    if current != SUDOERS:
        temp = SUDOERS_FILE + ".new"
        with open(temp, "w") as handle:
            handle.write(SUDOERS)
        os.chmod(temp, 0o440)
        _run("visudo", "-c", "-q", "-f", temp)
        os.replace(temp, SUDOERS_FILE)


def _make_path_without_base64():
    os.makedirs(NOB64_PATH, exist_ok=True)
    for directory in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            link = os.path.join(NOB64_PATH, name)
            if name == "base64" or os.path.lexists(link):
                continue
            try:
                os.symlink(os.path.join(directory, name), link)
            except FileExistsError:  # another test process made it meanwhile
                pass
