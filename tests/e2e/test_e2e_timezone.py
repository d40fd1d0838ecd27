"""server.timezone end to end: the real `pyinfra` command as root on a busybox chroot
host of a test sshd (tests/chroot.py), whose /etc/localtime, /etc/timezone and zone
files are its own: the zone changes there, not on this machine. The host's own
`date` then tells the new zone."""

import os
import shutil

import pytest
from conftest import Runner
from support import chroot
from support.sshd import TestSSHD, ensure_sshd_installed
from test_e2e_modules import applied

ZONES = ("Etc/UTC", "Europe/Paris", "Asia/Tokyo")


@pytest.fixture
def zone_host(tmp_path):
    """A busybox root with three zone files, on Etc/UTC the way Debian sets it."""
    ensure_sshd_installed()
    root = chroot.make_busybox_root()
    for zone in ZONES:
        target = os.path.join(root, "usr/share/zoneinfo", zone)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy(os.path.join("/usr/share/zoneinfo", zone), target)
    os.symlink("/usr/share/zoneinfo/Etc/UTC", os.path.join(root, "etc/localtime"))
    with open(os.path.join(root, "etc/timezone"), "w") as handle:
        handle.write("Etc/UTC\n")
    server = TestSSHD()
    server.extra_config = chroot.busybox_config(root)
    server.start()
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    shutil.copy(server.client_key, home / ".ssh" / "id_ed25519")
    os.chmod(home / ".ssh" / "id_ed25519", 0o600)
    try:
        yield root, Runner(server, home)
    finally:
        server.stop()
        chroot.remove_busybox_root(root)


def test_timezone_link_and_name_file(zone_host, tmp_path):
    root, run = zone_host
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    for name, zone in (("paris.py", "Europe/Paris"), ("tokyo.py", "Asia/Tokyo"), ("mars.py", "Mars/Olympus")):
        (deploy / name).write_text(
            "from pyinfra.modules import server\n"
            f"server.timezone({zone!r})\n"
            "server.shell('date +%Z > /tmp/zone')\n"
        )
    address = chroot.BUSYBOX_ADDRESS

    applied(run(address, "paris.py", cwd=deploy))
    assert os.readlink(os.path.join(root, "etc/localtime")) == "/usr/share/zoneinfo/Europe/Paris"
    assert open(os.path.join(root, "etc/timezone")).read() == "Europe/Paris\n"
    assert open(os.path.join(root, "tmp/zone")).read().strip() in ("CET", "CEST")
    second = run(address, "paris.py", cwd=deploy)
    # The shell command runs every time; the timezone changes nothing.
    assert second.returncode == 0 and "2 operations, 1 changed" in second.output, second.output

    applied(run(address, "tokyo.py", cwd=deploy))
    assert os.readlink(os.path.join(root, "etc/localtime")) == "/usr/share/zoneinfo/Asia/Tokyo"
    assert open(os.path.join(root, "tmp/zone")).read().strip() == "JST"

    result = run(address, "mars.py", cwd=deploy)
    assert result.returncode != 0, result.output
    assert "unknown timezone Mars/Olympus: the host has no /usr/share/zoneinfo/Mars/Olympus" in result.output
    assert "Traceback" not in result.output
    assert os.readlink(os.path.join(root, "etc/localtime")) == "/usr/share/zoneinfo/Asia/Tokyo"
