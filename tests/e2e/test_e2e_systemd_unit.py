"""systemd.unit end to end, as far as this machine allows: the real `pyinfra` command,
logged in as a non-root sudoer with sudo=True, puts a unit file in the machine's
/etc/systemd/system and enables it with the machine's real systemctl. systemd is not
PID 1 here (nor in CI), so nothing can start the unit and daemon-reload is left out by
the operation's own guard; starting, stopping and reloading are the JSON cases'
(tests/operations/systemd.unit). The unit is named for the test run and removed
afterwards; as systemd does not run, no unit of the machine is touched."""

import json
import os
import stat
import subprocess
import uuid

import pytest
from support import users
from test_e2e_modules import applied, unchanged

UNIT_DIR = "/etc/systemd/system"
WANTS = f"{UNIT_DIR}/multi-user.target.wants"
UNIT = """\
[Unit]
Description=pyinfra test unit {version}

[Service]
ExecStart=/bin/sleep 1

[Install]
WantedBy=multi-user.target
"""


@pytest.fixture
def unit_name():
    if os.path.isdir("/run/systemd/system"):
        raise RuntimeError("this test expects a machine that systemd does not run (CI, containers)")
    name = f"pyinfra-t-{uuid.uuid4().hex[:8]}.service"
    yield name
    for path in (f"{WANTS}/{name}", f"{UNIT_DIR}/{name}"):
        if os.path.lexists(path):
            os.remove(path)


def commands(result):
    """{operation name: commands run} of the one host, from --json."""
    assert result.returncode == 0, result.output
    doc = json.loads(result.stdout)
    [host] = doc["hosts"].values()
    return {op["name"]: op["commands"] for op in host["operations"]}


def is_enabled(name):
    return subprocess.run(["systemctl", "is-enabled", name], capture_output=True, text=True).stdout.strip()


def test_unit_file_put_enabled_and_removed(pyinfra_as, deploy_dir, unit_name):
    path = f"{UNIT_DIR}/{unit_name}"
    deploy = """
        from pyinfra.modules import systemd
        systemd.unit({{'Unit'}}, {name!r}, src='unit.service', enabled={enabled!r}, present={present!r},
                     sudo=True)
    """
    root = deploy_dir(
        {
            "unit.service": UNIT.format(version=1),
            "present.py": deploy.format(name=unit_name, enabled=True, present=True),
            "disabled.py": deploy.format(name=unit_name, enabled=False, present=True),
            "absent.py": deploy.format(name=unit_name, enabled=None, present=False),
        }
    )
    run = pyinfra_as(users.SUDO)
    assert is_enabled(unit_name) == ""  # no such unit yet

    first = run("127.0.0.2", "present.py", "--json", cwd=root)
    made = commands(first)["Unit"]
    with open(path) as handle:
        assert handle.read() == UNIT.format(version=1)
    info = os.stat(path)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, 0, 0o644)
    assert is_enabled(unit_name) == "enabled"
    assert os.readlink(f"{WANTS}/{unit_name}") == path
    # The file changed: systemd would be told (the guard skips it where systemd does not run).
    assert "if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi" in made, made
    assert made[-1] == f"systemctl enable {unit_name}"
    unchanged(run("127.0.0.2", "present.py", cwd=root))

    # The same content with another mode: the mode is put back, systemd is not reloaded.
    os.chmod(path, 0o600)
    fixed = commands(run("127.0.0.2", "present.py", "--json", cwd=root))["Unit"]
    (fix,) = fixed
    assert fix.endswith(f" && chmod 644 {path}") and "is a symbolic link" in fix, fixed  # a link refused
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644

    # New content: --dry --diff shows it and changes nothing; then it is uploaded and
    # systemd reloaded; the unit stays enabled.
    (root / "unit.service").write_text(UNIT.format(version=2))
    dry = run("127.0.0.2", "present.py", "--dry", "--diff", cwd=root)
    assert dry.returncode == 0, dry.output
    assert "-Description=pyinfra test unit 1" in dry.stdout, dry.output
    assert "+Description=pyinfra test unit 2" in dry.stdout, dry.output
    with open(path) as handle:
        assert handle.read() == UNIT.format(version=1)
    changed = commands(run("127.0.0.2", "present.py", "--json", cwd=root))["Unit"]
    assert any("daemon-reload" in command for command in changed), changed
    assert not any("enable" in command for command in changed), changed
    with open(path) as handle:
        assert handle.read() == UNIT.format(version=2)
    unchanged(run("127.0.0.2", "present.py", cwd=root))

    applied(run("127.0.0.2", "disabled.py", cwd=root))
    assert is_enabled(unit_name) == "disabled" and not os.path.lexists(f"{WANTS}/{unit_name}")
    unchanged(run("127.0.0.2", "disabled.py", cwd=root))

    applied(run("127.0.0.2", "absent.py", cwd=root))
    assert not os.path.exists(path)
    unchanged(run("127.0.0.2", "absent.py", cwd=root))


def test_starting_a_unit_where_systemd_does_not_run_fails(pyinfra_as, deploy_dir, unit_name):
    """running=True cannot be true here: the host fails, it is never reported started."""
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import systemd
            systemd.unit({unit_name!r}, content={UNIT.format(version=1)!r}, running=True, sudo=True)
            """
        }
    )
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode != 0, result.output
    assert "System has not been booted with systemd" in result.output, result.output
    assert "Traceback" not in result.output
