"""server.crontab, server.user_authorized_keys, server.sysctl and server.mount end to
end: the real `pyinfra` command, logged in as the non-root sudoer with sudo=True,
against this machine's real crontab (Debian's cron package), a test user's ~/.ssh,
a kernel parameter of a network device the test makes, and tmpfs mounts. Each deploy
runs twice: the second changes nothing. What a test makes it removes."""

import os
import pwd
import subprocess
import uuid

import pytest
from support import users
from support.packages import ensure_packages
from test_e2e_modules import applied, unchanged

CRON_PARTS = {"crontab": "cron"}


@pytest.fixture
def target_user():
    """A user of the test's own (not a login of the test sshd), removed afterwards."""
    name = f"pyinfra-t-{uuid.uuid4().hex[:6]}"
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True, capture_output=True)
    yield name
    subprocess.run(["crontab", "-r", "-u", name], capture_output=True)
    subprocess.run(["userdel", "-r", name], capture_output=True)


def crontab_of(user):
    result = subprocess.run(["crontab", "-l", "-u", user], capture_output=True, text=True)
    if result.returncode != 0:
        assert "no crontab for" in result.stderr, result.stderr
        return []
    return result.stdout.splitlines()


CRON_DEPLOY = """
from pyinfra.modules import server
user = {user!r}
phase = {phase!r}
present = phase != 'gone'
server.crontab('/usr/bin/backup --all', user=user, minute=0 if phase == 'first' else [0, 30],
               hour=3, present=present, sudo=True)
server.crontab("echo 'it''s' > /tmp/" + ('a' if phase == 'first' else 'b'), user=user,
               cron_name='greeting', special_time='@daily', present=present, sudo=True)
server.crontab('/bin/true', user=user, minute='*/5', present=phase == 'first', sudo=True)
"""


def test_crontab_added_rewritten_in_place_and_removed(pyinfra_as, deploy_dir, target_user):
    ensure_packages(CRON_PARTS)
    root = deploy_dir(
        {
            f"{phase}.py": CRON_DEPLOY.format(user=target_user, phase=phase)
            for phase in ("first", "second", "gone")
        }
    )
    run = pyinfra_as(users.SUDO)
    # A job of the user's own, which every phase keeps.
    subprocess.run(
        ["crontab", "-u", target_user, "-"], input="MAILTO=''\n@hourly mine\n", text=True, check=True
    )

    first = applied(run("127.0.0.2", "first.py", cwd=root))
    assert "3 operations, 3 changed" in first.output, first.output
    assert crontab_of(target_user) == [
        "MAILTO=''",
        "@hourly mine",
        "0 3 * * * /usr/bin/backup --all",
        "# pyinfra-name=greeting",
        "@daily echo 'it''s' > /tmp/a",
        "*/5 * * * * /bin/true",
    ]
    unchanged(run("127.0.0.2", "first.py", cwd=root))

    # A new schedule rewrites the job where it is; the named job's command changes.
    second = applied(run("127.0.0.2", "second.py", cwd=root))
    assert "3 operations, 3 changed" in second.output, second.output
    assert crontab_of(target_user) == [
        "MAILTO=''",
        "@hourly mine",
        "0,30 3 * * * /usr/bin/backup --all",
        "# pyinfra-name=greeting",
        "@daily echo 'it''s' > /tmp/b",
    ]
    unchanged(run("127.0.0.2", "second.py", cwd=root))

    applied(run("127.0.0.2", "gone.py", cwd=root))
    assert crontab_of(target_user) == ["MAILTO=''", "@hourly mine"]
    unchanged(run("127.0.0.2", "gone.py", cwd=root))


def test_crontab_of_an_unknown_user_fails_closed(pyinfra_as, deploy_dir):
    ensure_packages(CRON_PARTS)
    deploy = "from pyinfra.modules import server\nserver.crontab('true', user='no-such-user-x', sudo=True)\n"
    root = deploy_dir({"deploy.py": deploy})
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode != 0, result.output
    assert "no-such-user-x" in result.output and "unknown" in result.output, result.output
    assert "Traceback" not in result.output


def key(name):
    return f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{name * 8} {name}@test"


KEYS_DEPLOY = """
from pyinfra.modules import server
user = {user!r}
phase = {phase!r}
if phase == 'add':
    server.user_authorized_keys(user, [{one!r}, {two!r}], sudo=True)
elif phase == 'only':
    server.authorized_keys(user, [{one!r}], delete_keys=True, sudo=True)
else:
    server.user_authorized_keys(user, {one!r}, present=False, sudo=True)
"""


def mode_and_owner(path):
    info = os.stat(path)
    return oct(info.st_mode & 0o777), pwd.getpwuid(info.st_uid).pw_name


def test_authorized_keys_of_another_user(pyinfra_as, deploy_dir, target_user):
    home = pwd.getpwnam(target_user).pw_dir
    ssh_dir, keys_file = f"{home}/.ssh", f"{home}/.ssh/authorized_keys"
    one, two, other = key("A"), key("B"), key("C")
    root = deploy_dir(
        {
            f"{phase}.py": KEYS_DEPLOY.format(user=target_user, phase=phase, one=one, two=two)
            for phase in ("add", "only", "remove")
        }
    )
    run = pyinfra_as(users.SUDO)

    applied(run("127.0.0.2", "add.py", cwd=root))
    assert mode_and_owner(ssh_dir) == ("0o700", target_user)
    assert mode_and_owner(keys_file) == ("0o600", target_user)
    assert open(keys_file).read() == f"{one}\n{two}\n"
    unchanged(run("127.0.0.2", "add.py", cwd=root))

    # A key of the user's own, with options: the exclusive option removes it and two.
    with open(keys_file, "a") as handle:
        handle.write(f'from="10.0.0.1" {other}\n')
    dry = run("127.0.0.2", "only.py", "--dry", "--diff", cwd=root)
    assert dry.returncode == 0, dry.output
    shown = [line.strip() for line in dry.stdout.splitlines()]
    assert f'-from="10.0.0.1" {other}' in shown and f"-{two}" in shown, dry.output
    assert f" {one}" in dry.stdout, dry.output
    assert other in open(keys_file).read()  # --dry changed nothing
    applied(run("127.0.0.2", "only.py", cwd=root))
    assert open(keys_file).read() == f"{one}\n"
    assert mode_and_owner(keys_file) == ("0o600", target_user)
    unchanged(run("127.0.0.2", "only.py", cwd=root))

    applied(run("127.0.0.2", "remove.py", cwd=root))
    assert open(keys_file).read() == ""
    unchanged(run("127.0.0.2", "remove.py", cwd=root))


@pytest.fixture
def network_device():
    """A network device of the test's own (ifb: it carries no traffic), whose kernel
    parameters the test may change; removed afterwards."""
    name = f"pyt-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "link", "add", name, "type", "ifb"], check=True, capture_output=True)
    yield name
    subprocess.run(["ip", "link", "del", name], capture_output=True)


SYSCTL_DEPLOY = """
from pyinfra.modules import server
server.sysctl({key!r}, {value!r}, persist=True, persist_file={path!r}, sudo=True)
"""


def test_sysctl_now_and_persisted(pyinfra_as, deploy_dir, network_device, public_dir):
    key = f"net.ipv4.conf.{network_device}.forwarding"
    proc = f"/proc/sys/net/ipv4/conf/{network_device}/forwarding"
    persist = public_dir / "sysctl.d" / "99-test.conf"
    persist.parent.mkdir()
    persist.write_text("# kept\nvm.other = 1\n")
    root = deploy_dir(
        {
            "on.py": SYSCTL_DEPLOY.format(key=key, value=1, path=str(persist)),
            "off.py": SYSCTL_DEPLOY.format(key=key, value="0", path=str(persist)),
            "unknown.py": SYSCTL_DEPLOY.format(key="net.no.such.key", value=1, path=str(persist)),
        }
    )
    run = pyinfra_as(users.SUDO)
    assert open(proc).read().strip() == "0"

    applied(run("127.0.0.2", "on.py", cwd=root))
    assert open(proc).read().strip() == "1"
    assert persist.read_text() == f"# kept\nvm.other = 1\n{key} = 1\n"
    unchanged(run("127.0.0.2", "on.py", cwd=root))

    applied(run("127.0.0.2", "off.py", cwd=root))
    assert open(proc).read().strip() == "0"
    assert persist.read_text() == f"# kept\nvm.other = 1\n{key} = 0\n"
    unchanged(run("127.0.0.2", "off.py", cwd=root))

    result = run("127.0.0.2", "unknown.py", cwd=root)
    assert result.returncode != 0 and "the kernel has no sysctl net.no.such.key" in result.output, (
        result.output
    )
    assert "Traceback" not in result.output


def mounted(path):
    with open("/proc/self/mounts") as handle:
        for line in handle:
            parts = line.split()
            if parts[1] == path:
                return parts[2], parts[3].split(",")
    return None


MOUNT_DEPLOY = """
from pyinfra.modules import server
server.mount({path!r}, mounted={mounted!r}, device='tmpfs', fs_type='tmpfs', options={options!r},
             persist=True, fstab_file={fstab!r}, sudo=True)
"""


def test_tmpfs_mounted_remounted_and_unmounted(pyinfra_as, deploy_dir, public_dir):
    path = str(public_dir / "mnt")
    os.mkdir(path)
    fstab = public_dir / "fstab"
    fstab.write_text("# test fstab\n/dev/sdz9 /elsewhere ext4 defaults 0 0\n")
    args = {"path": path, "fstab": str(fstab)}
    root = deploy_dir(
        {
            "mount.py": MOUNT_DEPLOY.format(mounted=True, options=["nosuid", "size=1024k"], **args),
            "more.py": MOUNT_DEPLOY.format(mounted=True, options=["nosuid", "nodev", "size=1024k"], **args),
            "umount.py": MOUNT_DEPLOY.format(mounted=False, options=[], **args),
        }
    )
    run = pyinfra_as(users.SUDO)
    try:
        applied(run("127.0.0.2", "mount.py", cwd=root))
        fs_type, options = mounted(path)
        assert fs_type == "tmpfs" and "nosuid" in options and "size=1024k" in options, options
        assert fstab.read_text().splitlines()[-1] == f"tmpfs {path} tmpfs nosuid,size=1024k 0 0"
        unchanged(run("127.0.0.2", "mount.py", cwd=root))

        applied(run("127.0.0.2", "more.py", cwd=root))
        assert "nodev" in mounted(path)[1]
        assert fstab.read_text().splitlines()[-1] == f"tmpfs {path} tmpfs nosuid,nodev,size=1024k 0 0"
        unchanged(run("127.0.0.2", "more.py", cwd=root))

        applied(run("127.0.0.2", "umount.py", cwd=root))
        assert mounted(path) is None
        assert fstab.read_text() == "# test fstab\n/dev/sdz9 /elsewhere ext4 defaults 0 0\n"
        unchanged(run("127.0.0.2", "umount.py", cwd=root))
    finally:
        subprocess.run(["umount", path], capture_output=True)


def read_fact(name, *args):
    """A fact read on this machine with its real command and parser."""
    from pyinfra.api.facts import get_fact_class

    fact = get_fact_class(name)()
    result = subprocess.run(["sh", "-c", fact.make_command(*args)], capture_output=True, text=True)
    return fact.value(result.returncode, result.stdout.splitlines(), result.stderr.splitlines())


def test_system_facts_of_this_machine():
    """The commands and parsers of the new facts agree with what Linux says itself."""
    assert "C" in read_fact("locales") and "POSIX" in read_fact("locales")
    link = os.readlink("/etc/localtime") if os.path.islink("/etc/localtime") else None
    if link:
        assert read_fact("timezone") == link.split("zoneinfo/", 1)[1]
    assert read_fact("mounts")["/proc"]["type"] == "proc"
    low, high = (int(v) for v in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
    assert read_fact("sysctl", "net.ipv4.ip_local_port_range") == [low, high]
    assert read_fact("sysctl", "net/ipv4/ip_local_port_range") == [low, high]
    assert read_fact("sysctl", "net.no.such.key") is None
