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
- ``pyinfra-t-noisy``: login shell bash, passwordless sudo; its ~/.bashrc, ~/.profile
  and ~/.bash_profile print a banner on stdout and stderr, as many real servers' do
- ``pyinfra-t-locale``: login shell bash, passwordless sudo; its ~/.bashrc sets LANG
  and LC_ALL to a locale the host does not have
- ``pyinfra-t-quits``: login shell bash, whose ~/.bashrc exits: no command ever runs
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
NOISY = "pyinfra-t-noisy"
LOCALE = "pyinfra-t-locale"
QUITS = "pyinfra-t-quits"
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
# The users whose start-up files are odd, in a file of their own: a checkout of the
# tests that does not know them rewrites the file above, never this one.
STARTUP_SUDOERS_FILE = "/etc/sudoers.d/pyinfra-t-startup-users"
STARTUP_SUDOERS = f"""\
{NOISY} ALL=(ALL) NOPASSWD: ALL
{LOCALE} ALL=(ALL) NOPASSWD: ALL
"""

USERS = {
    SUDO: "/bin/sh",
    SUDO_PW: "/bin/sh",
    FISH: "fish",
    TTY: "/bin/sh",
    NOSUDO: "/bin/sh",
    NOB64: "/bin/sh",
    NOISY: "bash",
    LOCALE: "bash",
    QUITS: "bash",
}

# What pyinfra-t-noisy's start-up files print, on stdout and on stderr (the stderr
# line has no newline: a banner may not end its line).
BANNER = "Welcome to a noisy host"
NOISY_LINES = f'echo "{BANNER} (stdout, $0)"\nprintf "%s" "{BANNER} (stderr)" >&2\n'
# A locale the host does not have.
BROKEN_LOCALE = "xx_XX.UTF-8"

# Start-up files written into a user's home, by user (its own, mode 0644).
DOTFILES = {
    NOISY: {name: NOISY_LINES for name in (".bashrc", ".profile", ".bash_profile")},
    LOCALE: {".bashrc": f"export LANG={BROKEN_LOCALE} LC_ALL={BROKEN_LOCALE}\n"},
    QUITS: {".bashrc": "echo leaving now; exit 0\n"},
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
        _write_dotfiles(name, DOTFILES.get(name, {}))
    _make_path_without_base64()
    _write_sudoers(SUDOERS_FILE, SUDOERS)
    _write_sudoers(STARTUP_SUDOERS_FILE, STARTUP_SUDOERS)


def _write_sudoers(path, text):
    current = None
    if os.path.exists(path):
        with open(path) as handle:
            current = handle.read()
    if current != text:
        temp = f"{path}.{os.getpid()}.new"
        with open(temp, "w") as handle:
            handle.write(text)
        os.chmod(temp, 0o440)
        _run("visudo", "-c", "-q", "-f", temp)
        os.replace(temp, path)


def _write_dotfiles(name, files):
    """Write the user's start-up files when they differ (as the user: theirs, 0644)."""
    home = os.path.expanduser(f"~{name}")
    for filename, text in files.items():
        path = os.path.join(home, filename)
        if os.path.exists(path):
            with open(path) as handle:
                if handle.read() == text:
                    continue
        temp = f"{path}.{os.getpid()}.new"
        with open(temp, "w") as handle:
            handle.write(text)
        shutil.chown(temp, name, name)
        os.chmod(temp, 0o644)
        os.replace(temp, path)


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
