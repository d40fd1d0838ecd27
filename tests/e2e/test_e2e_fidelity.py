"""Things pyinfra 0.1 did that a 0.1 deploy relies on, through the real `pyinfra`
command against the test sshd: group data reading the inventory, 0.1's short flags,
packages downloaded from URLs without a .deb name, git run as the SSH user under
sudo, and init.d services enabled with OpenRC's rc-update (on a busybox host that
stands for Alpine, with a stand-in rc-update)."""

import json
import os
import pwd
import shutil
import subprocess

import pytest
from conftest import Runner
from support import chroot, users
from support.sshd import TestSSHD, ensure_sshd_installed
from test_e2e_modules import RUN_ID, applied, build_deb, git, http_server, installed_version, unchanged

__all__ = ["http_server"]  # a fixture of test_e2e_modules, used here too


# -- group data that reads the inventory ---------------------------------------------------

INVENTORY = """\
DB_SERVERS = ['127.0.0.3']
WEB_SERVERS = ['127.0.0.2', ('127.0.0.4', {'weight': 2})]
"""

GROUP_DATA_ALL = """\
from pyinfra import inventory

master_db_server = inventory.db_servers[0].name
web_count = len(inventory.web_servers)
heaviest = max(inventory.web_servers, key=lambda host: host.data.weight or 0).name
"""


def test_group_data_reads_the_inventory(pyinfra, deploy_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    root = deploy_dir(
        {
            "inventories/production.py": INVENTORY,
            "group_data/all.py": GROUP_DATA_ALL,
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell(
                'echo {{{{ host.data.master_db_server }}}} {{{{ host.data.web_count }}}}'
                ' {{{{ host.data.heaviest }}}} > {out}/{{{{ host.name }}}}'
            )
            """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    for name in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        assert (out / name).read_text() == "127.0.0.3 2 127.0.0.4\n"

    result = pyinfra("inventories/production.py", "--debug-data", cwd=root, port=False)
    assert result.returncode == 0, result.output
    data = json.loads(result.stdout)
    assert data["127.0.0.2"]["data"]["master_db_server"] == {"value": "127.0.0.3", "source": "all"}
    assert data["127.0.0.4"]["data"]["heaviest"]["value"] == "127.0.0.4"


def test_group_data_naming_a_missing_group_says_so(pyinfra, deploy_dir):
    root = deploy_dir(
        {
            "inventories/production.py": INVENTORY,
            "group_data/all.py": "from pyinfra import inventory\nfirst = inventory.mail_servers[0]\n",
        }
    )
    result = pyinfra("inventories/production.py", "--debug-data", cwd=root, port=False)
    assert result.returncode != 0
    assert "no group 'mail_servers' in the inventory" in result.stderr, result.output
    assert "Traceback" not in result.output


# -- 0.1's short flags ---------------------------------------------------------------------


def test_short_flags_and_enable_pipelining(pyinfra, deploy_dir, public_dir, sshd, test_users):
    """0.1's `-u USER -p PORT` and `--enable-pipelining` (a no-op here: facts are always
    batched). `-u` must really log in as that user and `-p` reach the test sshd."""
    out = public_dir / "whoami"
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import files, server
            server.shell('id -un > {out}')
            files.file('{out}')
            """
        }
    )
    result = pyinfra(
        "-u",
        users.SUDO,
        "-p",
        str(sshd.port),
        "--enable-pipelining",
        "127.0.0.2",
        "deploy.py",
        cwd=root,
        port=False,
    )
    assert result.returncode == 0, result.output
    assert out.read_text() == f"{users.SUDO}\n"
    assert pwd.getpwuid(os.stat(out).st_uid).pw_name == users.SUDO

    help_text = " ".join(pyinfra("--help", port=False).stdout.split())
    assert "--enable-pipelining" in help_text and "always read in one batch" in help_text


# -- a .deb downloaded from a URL that does not end in .deb ----------------------------------


def test_apt_deb_from_a_download_link(pyinfra, deploy_dir, tmp_path, http_server):
    """apt-get installs a local file only when its name ends in .deb: the download
    keeps that name whatever the URL ends in, as 0.1's did."""
    www, url = http_server
    name = f"pyinfra-e2e-link-{RUN_ID}"
    shutil.copy(build_deb(tmp_path, name, "1.0"), www / "download")
    source = f"{url}/download?package={name}"
    root = deploy_dir({"deploy.py": f"from pyinfra.modules import apt\napt.deb({source!r})\n"})
    cached = []
    try:
        applied(pyinfra("127.0.0.2", "deploy.py", cwd=root))
        assert installed_version(name) == "1.0"
        cached = [n for n in os.listdir("/var/cache/pyinfra") if n.endswith("-download.deb")]
        assert cached, os.listdir("/var/cache/pyinfra")
        unchanged(pyinfra("127.0.0.2", "deploy.py", cwd=root))
    finally:
        subprocess.run(["dpkg", "-r", name], capture_output=True)
        for entry in cached:
            os.remove(os.path.join("/var/cache/pyinfra", entry))


# -- git.repo(sudo=True, use_ssh_user=True) ----------------------------------------------------


def test_git_repo_use_ssh_user_clones_as_the_login_then_chowns(pyinfra_as, deploy_dir, public_dir):
    """0.1: with sudo, git runs as the SSH user (whose forwarded agent sudo would drop)
    and the tree then belongs to `user`. The reflog names who ran the clone."""
    bare, work = public_dir / "origin.git", public_dir / "work"
    git("init", "-q", "--bare", "-b", "master", str(bare))
    git("clone", "-q", str(bare), str(work))
    (work / "README").write_text("one\n")
    git("add", "README", cwd=work)
    git("commit", "-q", "-m", "one", cwd=work)
    git("push", "-q", "origin", "HEAD:master", cwd=work)
    subprocess.run(["chown", "-R", users.SUDO, str(bare)], check=True)
    checkout = public_dir / "srv" / "app"
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import git
            git.repo('{bare}', '{checkout}', sudo=True, use_ssh_user=True, user='{users.NOSUDO}')
            """
        }
    )
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root)
    applied(result)
    assert (checkout / "README").read_text() == "one\n"
    reflog = (checkout / ".git" / "logs" / "HEAD").read_text()
    assert f"<{users.SUDO}@" in reflog and "clone: from" in reflog, reflog
    for path in (checkout, checkout / "README", checkout / ".git" / "HEAD"):
        assert pwd.getpwuid(os.stat(path).st_uid).pw_name == users.NOSUDO, path
    assert pwd.getpwuid(os.stat(checkout.parent).st_uid).pw_name == "root"

    # A later deploy pulls (as the login user again) and gives the tree back to `user`.
    (work / "README").write_text("two\n")
    git("commit", "-q", "-am", "two", cwd=work)
    # The origin is the login user's: it pushes there itself.
    subprocess.run(["chown", "-R", users.SUDO, str(work)], check=True)
    subprocess.run(
        ["runuser", "-u", users.SUDO, "--", "git", "-C", str(work), "push", "-q", "origin", "HEAD:master"],
        check=True,
        capture_output=True,
    )
    applied(pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root))
    assert (checkout / "README").read_text() == "two\n"
    assert pwd.getpwuid(os.stat(checkout / "README").st_uid).pw_name == users.NOSUDO


# -- init.d on an OpenRC host ------------------------------------------------------------------

# A stand-in for OpenRC's rc-update: `add NAME [RUNLEVEL]` and `del NAME [RUNLEVEL]`
# keep /etc/runlevels/<runlevel>/<name> links as the real one does, and log the call.
RC_UPDATE = """#!/bin/sh
echo "$*" >> /var/log/rc-update.log
level=${3:-default}
case "$1" in
  add) mkdir -p /etc/runlevels/$level && ln -s /etc/init.d/$2 /etc/runlevels/$level/$2 ;;
  del) rm -f /etc/runlevels/$level/$2 ;;
  *) exit 1 ;;
esac
"""

SERVICE = """#!/bin/sh
case "$1" in
  start) touch /var/run/pyinfra-svc ;;
  stop) rm -f /var/run/pyinfra-svc ;;
  status) [ -f /var/run/pyinfra-svc ] && exit 0 || exit 3 ;;
  *) exit 1 ;;
esac
"""


@pytest.fixture(scope="module")
def openrc_sshd():
    """A TestSSHD whose 127.0.0.250 is a busybox root with an rc-update stand-in."""
    ensure_sshd_installed()
    root = chroot.make_busybox_root()
    for path, text in (("sbin/rc-update", RC_UPDATE), ("etc/init.d/pyinfra-svc", SERVICE)):
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as handle:
            handle.write(text)
        os.chmod(full, 0o755)
    for directory in ("var/log", "var/run", "etc/runlevels/boot"):
        os.makedirs(os.path.join(root, directory), exist_ok=True)
    server = TestSSHD()
    server.extra_config = chroot.busybox_config(root)
    server.start()
    try:
        server.busybox_root = root
        yield server
    finally:
        server.stop()
        chroot.remove_busybox_root(root)


def test_init_d_enabled_uses_rc_update_on_openrc(openrc_sshd, tmp_path):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    shutil.copy(openrc_sshd.client_key, home / ".ssh" / "id_ed25519")
    os.chmod(home / ".ssh" / "id_ed25519", 0o600)
    run = Runner(openrc_sshd, home)
    root = openrc_sshd.busybox_root
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "on.py").write_text("from pyinfra.modules import init\ninit.d('pyinfra-svc', enabled=True)\n")
    (deploy / "off.py").write_text(
        "from pyinfra.modules import init\ninit.d('pyinfra-svc', running=False, enabled=False)\n"
    )
    log = os.path.join(root, "var/log/rc-update.log")
    link = os.path.join(root, "etc/runlevels/default/pyinfra-svc")

    applied(run(chroot.BUSYBOX_ADDRESS, "on.py", cwd=deploy))
    assert open(log).read() == "add pyinfra-svc default\n"
    assert os.readlink(link) == "/etc/init.d/pyinfra-svc"
    assert os.path.exists(os.path.join(root, "var/run/pyinfra-svc"))
    assert not [n for n in os.listdir(os.path.join(root, "etc")) if n.startswith("rc")]
    unchanged(run(chroot.BUSYBOX_ADDRESS, "on.py", cwd=deploy))

    applied(run(chroot.BUSYBOX_ADDRESS, "off.py", cwd=deploy))
    assert open(log).read() == "add pyinfra-svc default\ndel pyinfra-svc default\n"
    assert not os.path.lexists(link)
    unchanged(run(chroot.BUSYBOX_ADDRESS, "off.py", cwd=deploy))
