"""Hosts other than this Debian machine logged into as root, through the real `pyinfra`
command and a real sshd of this module's own (tests/chroot.py makes the hosts):

- a login without sudo, where facts meet paths it may not read: a fact that cannot be
  read fails the host (or, with ignore_errors, its operation), never reads as "absent";
- a busybox-only root (the userland of Alpine) at 127.0.0.250: the file operations,
  server basics and facts work there, twice (changed, then nothing to change).
"""

import json
import os
import shutil
import tempfile

import pytest
from conftest import Runner
from support import chroot
from support.sshd import TestSSHD, ensure_sshd_installed


@pytest.fixture(scope="module")
def hosts_sshd():
    """A TestSSHD that knows the busybox root and the user without sudo."""
    ensure_sshd_installed()
    root = chroot.make_busybox_root()
    keys = tempfile.mkdtemp(prefix="pyinfra-f-keys-")
    server = TestSSHD()
    server.extra_config = chroot.nosudo_config(keys) + chroot.busybox_config(root)
    server.start()
    try:
        chroot.install_key(keys, server.client_public_key)
        server.busybox_root = root
        yield server
    finally:
        server.stop()
        shutil.rmtree(keys, ignore_errors=True)
        chroot.remove_busybox_root(root)


@pytest.fixture
def run(hosts_sshd, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    shutil.copy(hosts_sshd.client_key, ssh_dir / "id_ed25519")
    os.chmod(ssh_dir / "id_ed25519", 0o600)
    (ssh_dir / "known_hosts").write_text("")
    return Runner(hosts_sshd, home)


@pytest.fixture
def private_dir():
    """A directory only root may enter, holding x/f."""
    path = tempfile.mkdtemp(prefix="pyinfra-f-private-")
    os.chmod(path, 0o700)
    os.makedirs(os.path.join(path, "x"))
    with open(os.path.join(path, "x", "f"), "w") as handle:
        handle.write("keep\n")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# -- facts fail closed -------------------------------------------------------------------


def test_unreadable_path_fails_the_host_not_no_change(run, tmp_path, private_dir):
    target = os.path.join(private_dir, "x", "f")
    root = write(
        tmp_path,
        {
            "inventory.py": "HOSTS = ['127.0.0.1']\n",
            "deploy.py": f"from pyinfra.modules import files\nfiles.file({target!r}, present=False)\n",
        },
    )
    result = run("--user", chroot.NOSUDO_USER, "inventory.py", "deploy.py", "-v", cwd=root)
    assert result.returncode != 0, result.output
    assert "No change" not in result.output, result.output
    # The error names the fact, its argument, the exit status and what the host said.
    assert f"fact file('{target}')" in result.output, result.output
    assert "exit status 1" in result.output, result.output
    assert "Permission denied" in result.output, result.output
    assert "Traceback" not in result.output, result.output
    assert os.path.exists(target)


def test_unreadable_path_with_ignore_errors_is_an_ignored_error(run, tmp_path, private_dir):
    target = os.path.join(private_dir, "x", "f")
    public = tempfile.mkdtemp(prefix="pyinfra-f-public-")
    os.chmod(public, 0o777)
    after = os.path.join(public, "after")
    try:
        root = write(
            tmp_path,
            {
                "inventory.py": "HOSTS = ['127.0.0.1']\n",
                "deploy.py": (
                    "from pyinfra.modules import files\n"
                    f"files.file({target!r}, present=False, ignore_errors=True)\n"
                    f"files.file({after!r})\n"
                ),
            },
        )
        result = run("--user", chroot.NOSUDO_USER, "inventory.py", "deploy.py", "-v", cwd=root)
        assert result.returncode == 0, result.output
        assert "Error (ignored)" in result.output, result.output
        assert f"fact file('{target}')" in result.output, result.output
        assert "Permission denied" in result.output, result.output
        # The host went on with the next operation.
        assert os.path.exists(after)
        assert os.path.exists(target)
    finally:
        shutil.rmtree(public, ignore_errors=True)


def test_fact_cli_shows_the_error(run, tmp_path, private_dir):
    target = os.path.join(private_dir, "x", "f")
    root = write(tmp_path, {"inventory.py": "HOSTS = ['127.0.0.1']\n"})
    result = run("--user", chroot.NOSUDO_USER, "inventory.py", "--fact", f"file:{target}", cwd=root)
    assert result.returncode == 1, result.output
    error = json.loads(result.stdout)["127.0.0.1"]["error"]
    assert f"fact file('{target}')" in error and "Permission denied" in error, error
    # The same fact read as root says what is there; an absent path is None.
    ok = run("inventory.py", "--fact", f"file:{target}", "--fact", f"file:{target}.none", cwd=root)
    assert ok.returncode == 0, ok.output
    facts = json.loads(ok.stdout)["127.0.0.1"]
    assert facts[f"file:{target}"]["size"] == 5
    assert facts[f"file:{target}.none"] is None


# -- a busybox-only host -----------------------------------------------------------------

BUSYBOX_DEPLOY = """
from pyinfra.modules import files

files.directory('/srv/site', mode=755)
files.put('files/app.conf', '/srv/site/app.conf', mode=640)
files.put('files/app.conf', '/srv/site/kept.conf')
files.template('templates/motd.j2', '/srv/site/motd', who='busybox')
files.line('/srv/site/limits.conf', 'extra=1')
files.line('/srv/site/limits.conf', '^old=.*$', replace='old=2')
files.replace('/srv/site/limits.conf', 'nofile 1024', 'nofile 4096')
files.file('/srv/site/empty', mode=600, user='nobody', group='nogroup')
files.file('/srv/site/remove-me', present=False)
files.link('/srv/site/current', target='/srv/site/app.conf')
files.sync('files/www', '/srv/site/www', delete=True)
"""


def test_busybox_host_deploys_twice(run, hosts_sshd, tmp_path):
    host_root = hosts_sshd.busybox_root
    site = os.path.join(host_root, "srv", "site")
    os.makedirs(os.path.join(site, "www", "stale"))
    with open(os.path.join(site, "www", "stale", "old.js"), "w") as handle:
        handle.write("old\n")
    with open(os.path.join(site, "limits.conf"), "w") as handle:
        handle.write("nofile 1024\nold=1\n")
    with open(os.path.join(site, "kept.conf"), "w") as handle:
        handle.write("before\n")
    os.chmod(os.path.join(site, "kept.conf"), 0o604)
    os.chown(os.path.join(site, "kept.conf"), 65534, 65534)
    with open(os.path.join(site, "remove-me"), "w") as handle:
        handle.write("x\n")
    root = write(
        tmp_path,
        {
            "inventory.py": f"HOSTS = ['{chroot.BUSYBOX_ADDRESS}']\n",
            "files/app.conf": "listen 80\n",
            "files/www/index.html": "<h1>hi</h1>\n",
            "files/www/css/app.css": "body {}\n",
            "templates/motd.j2": "Welcome to {{ host.fact.linux_distribution.name }}, {{ who }}\n",
            "deploy.py": BUSYBOX_DEPLOY,
        },
    )
    first = run("inventory.py", "deploy.py", "-v", cwd=root)
    assert first.returncode == 0, first.output
    assert "Success (changed)" in first.output, first.output
    second = run("inventory.py", "deploy.py", "-v", cwd=root)
    assert second.returncode == 0, second.output
    assert "Success (changed)" not in second.output, second.output
    assert " 0 changed" in second.output, second.output

    def read(name):
        with open(os.path.join(site, name)) as handle:
            return handle.read()

    def mode_owner(name):
        info = os.lstat(os.path.join(site, name))
        return oct(info.st_mode & 0o7777), info.st_uid, info.st_gid

    assert read("app.conf") == "listen 80\n"
    assert mode_owner("app.conf") == ("0o640", 0, 0)
    # Replaced content keeps the owner and mode it had.
    assert read("kept.conf") == "listen 80\n"
    assert mode_owner("kept.conf") == ("0o604", 65534, 65534)
    assert read("motd") == "Welcome to Alpine, busybox\n"
    assert read("limits.conf") == "nofile 4096\nold=2\nextra=1\n"
    assert read("empty") == ""
    assert mode_owner("empty") == ("0o600", 65534, 65534)
    assert not os.path.exists(os.path.join(site, "remove-me"))
    assert os.readlink(os.path.join(site, "current")) == "/srv/site/app.conf"
    assert read("www/index.html") == "<h1>hi</h1>\n"
    assert read("www/css/app.css") == "body {}\n"
    assert not os.path.exists(os.path.join(site, "www", "stale"))

    shell = run("inventory.py", "--run", 'echo "$(id -un) in $PWD" > /srv/site/shell-ran', cwd=root)
    assert shell.returncode == 0, shell.output
    assert read("shell-ran") == "root in /root\n"


def test_busybox_host_facts(run, hosts_sshd, tmp_path):
    root = write(tmp_path, {"inventory.py": f"HOSTS = ['{chroot.BUSYBOX_ADDRESS}']\n"})
    facts = [
        "os",
        "arch",
        "home",
        "date",
        "linux_distribution",
        "users",
        "groups",
        "which:sh",
        "which:nosuch",
        "file:/etc/passwd",
        "file:/etc/nosuch",
        "directory:/etc",
        "link:/bin/sh",
        "sha1_file:/etc/os-release",
        "find_in_file:/etc/passwd,^root:,",
        "find_files:/etc",
        "find_directories:/dev",
        "deb_packages",
        "rpm_packages",
        "systemd_status",
    ]
    args = []
    for fact in facts:
        args += ["--fact", fact]
    result = run("inventory.py", *args, cwd=root)
    assert result.returncode == 0, result.output
    values = json.loads(result.stdout)[chroot.BUSYBOX_ADDRESS]
    assert values["os"] == "Linux"
    assert values["home"] == "/root"
    assert values["linux_distribution"] == {"name": "Alpine", "major": 3, "minor": 19}
    assert values["users"]["root"]["shell"] == "/bin/bash"
    assert values["users"]["nobody"]["group"] == "nogroup"
    assert "wheel" in values["groups"]
    assert values["which:sh"] == "/bin/sh"
    assert values["which:nosuch"] is None
    assert values["file:/etc/passwd"]["user"] == "root" and values["file:/etc/passwd"]["mode"] == 644
    assert values["file:/etc/nosuch"] is None
    assert values["directory:/etc"]["mode"] == 755
    assert values["link:/bin/sh"]["link_target"] == "/bin/busybox"
    with open(os.path.join(hosts_sshd.busybox_root, "etc", "os-release"), "rb") as handle:
        import hashlib

        assert values["sha1_file:/etc/os-release"] == hashlib.sha1(handle.read()).hexdigest()
    assert values["find_in_file:/etc/passwd,^root:,"] == ["root:x:0:0:root:/root:/bin/bash"]
    assert "/etc/passwd" in values["find_files:/etc"]
    assert values["find_directories:/dev"] == ["/dev"]
    assert values["deb_packages"] == {} and values["rpm_packages"] == {}
    assert values["systemd_status"] == {}


# -- BSD -------------------------------------------------------------------------------


# init.rc runs /etc/rc.d scripts wherever they are, as 0.1 did (tests/test_e2e_modules.py).
@pytest.mark.parametrize("run_args, name", [(["pkg.packages", "nginx"], "pkg.packages")])
def test_bsd_operations_say_bsd_is_not_supported(run, tmp_path, run_args, name):
    root = write(tmp_path, {"inventory.py": "HOSTS = ['127.0.0.1']\n"})
    result = run("inventory.py", "--run", *run_args, cwd=root)
    assert result.returncode != 0, result.output
    assert f"{name}(): BSD hosts are not supported" in result.output, result.output
    assert "Traceback" not in result.output, result.output
