"""`--json` (issue 13): stdout is one JSON document of what each host did, for a deploy,
--dry and --run; progress stays on stderr; exit codes as without it."""

import json

OP_KEYS = {"name", "changed", "success", "error", "commands", "stdout", "stderr", "attempts"}

DEPLOY = """
    from pyinfra.modules import files, server
    files.directory({{'Make dir'}}, '{out}/{{{{ host.name }}}}')
    files.directory({{'Existing dir'}}, '{out}')
    server.shell({{'Say'}}, 'echo out-{{{{ host.name }}}}; echo err-{{{{ host.name }}}} >&2; '
                 'echo {{{{ host.data.app_token }}}}')
    server.shell({{'Fail on three'}}, 'test {{{{ host.name }}}} != 127.0.0.3', retries=1, retry_delay=0)
    server.shell({{'After'}}, 'touch {out}/after-{{{{ host.name }}}}')
"""

NAMES = ["Make dir", "Existing dir", "Say", "Fail on three", "After"]



def made_dir(path):
    """files.directory's command for a new directory: made, then a link planted in its
    place meanwhile refused."""
    return (
        f"mkdir -p {path} && {{ [ ! -L {path} ] || {{ printf '%s: is a symbolic link: not followed\\n'"
        f" {path} >&2; false; }}; }}"
    )

def document(result):
    """The whole of stdout is one JSON document in the documented shape."""
    doc = json.loads(result.stdout)
    assert set(doc) == {"hosts", "operations", "error"}, doc
    for host in doc["hosts"].values():
        assert set(host) == {"success", "error", "operations"}
        for op in host["operations"]:
            assert set(op) == OP_KEYS, op
            assert all(isinstance(c, str) for c in op["commands"])
            assert isinstance(op["attempts"], int) and isinstance(op["changed"], bool)
    for op in doc["operations"]:
        assert set(op) == {"name", "hosts", "changed_hosts"}, op
    return doc


def by_name(ops):
    return {op["name"]: op for op in ops}


def make_deploy(deploy_dir, tmp_path, port):
    out = tmp_path / "out"
    out.mkdir()
    root = deploy_dir(
        {
            "inventory.py": f"""
                HOSTS = [('127.0.0.2', {{'ssh_port': {port}}}), ('127.0.0.3', {{'ssh_port': {port}}}),
                         ('127.0.0.9', {{'ssh_port': 1}})]
            """,
            "deploy.py": DEPLOY.format(out=out),
        }
    )
    return root, out


def test_json_of_a_deploy_with_a_failing_and_an_unreachable_host(pyinfra, deploy_dir, tmp_path, sshd):
    root, out = make_deploy(deploy_dir, tmp_path, sshd.port)
    result = pyinfra(
        "inventory.py", "deploy.py", "--json", "--data", "app_token=Tok-Secret-123", cwd=root, port=False
    )
    assert result.returncode == 1, result.output
    doc = document(result)
    assert sorted(doc["hosts"]) == ["127.0.0.2", "127.0.0.3", "127.0.0.9"]

    good = doc["hosts"]["127.0.0.2"]
    assert good["success"] is True and good["error"] is None
    assert [op["name"] for op in good["operations"]] == NAMES
    ops = by_name(good["operations"])
    assert ops["Make dir"]["changed"] is True and ops["Make dir"]["success"] is True
    assert ops["Make dir"]["commands"] == [made_dir(out / "127.0.0.2")]
    assert ops["Existing dir"] == {
        "name": "Existing dir",
        "changed": False,
        "success": True,
        "error": None,
        "commands": [],
        "stdout": [],
        "stderr": [],
        "attempts": 1,
    }
    say = ops["Say"]
    assert say["stdout"] == ["out-127.0.0.2", "***"] and say["stderr"] == ["err-127.0.0.2"]
    assert say["attempts"] == 1 and "echo out-127.0.0.2" in say["commands"][0]
    assert (out / "after-127.0.0.2").exists()

    bad = doc["hosts"]["127.0.0.3"]
    assert bad["success"] is False and "exit status 1" in bad["error"]
    ops = by_name(bad["operations"])
    failed = ops["Fail on three"]
    assert failed["success"] is False and failed["changed"] is False
    assert failed["attempts"] == 2 and "failed after 2 attempts" in failed["error"]
    assert ops["After"]["success"] is False and ops["After"]["attempts"] == 0
    assert ops["After"]["changed"] is False and ops["After"]["stdout"] == []
    assert not (out / "after-127.0.0.3").exists()

    unreachable = doc["hosts"]["127.0.0.9"]
    assert unreachable["success"] is False and "refused" in unreachable["error"].lower()
    assert unreachable["operations"] == []

    summary = by_name(doc["operations"])
    assert [op["name"] for op in doc["operations"]] == NAMES
    assert summary["Say"] == {
        "name": "Say",
        "hosts": ["127.0.0.2", "127.0.0.3"],
        "changed_hosts": ["127.0.0.2", "127.0.0.3"],
    }
    assert summary["After"]["changed_hosts"] == ["127.0.0.2"]
    assert summary["Existing dir"]["changed_hosts"] == []

    # Progress is on stderr; the secret is nowhere.
    assert "127.0.0.3" in result.stderr and len(result.stderr.splitlines()) > 3
    assert "Tok-Secret-123" not in result.output


def test_json_of_a_dry_run_predicts_and_runs_nothing(pyinfra, deploy_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    root = deploy_dir({"deploy.py": DEPLOY.format(out=out)})
    result = pyinfra("127.0.0.2,127.0.0.3", "deploy.py", "--dry", "--json", "--data", "app_token=x", cwd=root)
    assert result.returncode == 0, result.output
    doc = document(result)
    assert list(out.iterdir()) == []  # nothing ran
    for name in ("127.0.0.2", "127.0.0.3"):
        host = doc["hosts"][name]
        assert host["success"] is True and host["error"] is None
        ops = by_name(host["operations"])
        assert [op["name"] for op in host["operations"]] == NAMES
        assert ops["Make dir"]["changed"] is True
        assert ops["Make dir"]["commands"] == [made_dir(out / name)]
        assert ops["Existing dir"]["changed"] is False and ops["Existing dir"]["commands"] == []
        for op in host["operations"]:
            assert op["attempts"] == 0 and op["stdout"] == [] and op["stderr"] == []
            assert op["success"] is True and op["error"] is None
    summary = by_name(doc["operations"])
    assert summary["Make dir"]["changed_hosts"] == ["127.0.0.2", "127.0.0.3"]
    assert summary["Existing dir"]["changed_hosts"] == []
    assert "Dry run" in result.stderr


def test_json_of_run_command(pyinfra, deploy_dir):
    root = deploy_dir({"inventory.py": "HOSTS = ['127.0.0.2', '127.0.0.3']\n"})
    result = pyinfra("inventory.py", "--run", "echo hello; echo oops >&2", "--json", cwd=root)
    assert result.returncode == 0, result.output
    doc = document(result)
    for name in ("127.0.0.2", "127.0.0.3"):
        host = doc["hosts"][name]
        assert host["success"] is True
        (op,) = host["operations"]
        assert op["stdout"] == ["hello"] and op["stderr"] == ["oops"]
        assert op["changed"] is True and op["attempts"] == 1
        # The live output is still shown, on stderr.
        assert f"[{name}] hello" in result.stderr
    assert doc["operations"][0]["hosts"] == ["127.0.0.2", "127.0.0.3"]

    failing = pyinfra("inventory.py", "--run", "echo no >&2; exit 4", "--json", cwd=root)
    assert failing.returncode == 1, failing.output
    host = document(failing)["hosts"]["127.0.0.2"]
    assert host["success"] is False and "exit status 4" in host["error"]
    assert host["operations"][0]["stderr"] == ["no"]


def test_json_when_the_deploy_file_fails_to_build(pyinfra, deploy_dir):
    """A run stopped by an error names it, and no host is reported a success."""
    root = deploy_dir({"deploy.py": "from pyinfra.modules import server\nserver.shell('true')\n1 / 0\n"})
    result = pyinfra("127.0.0.2", "deploy.py", "--json", cwd=root)
    assert result.returncode == 1, result.output
    assert "ZeroDivisionError" in result.stderr
    doc = json.loads(result.stdout)
    host = doc["hosts"]["127.0.0.2"]
    assert host["success"] is False and "ZeroDivisionError" in host["error"]


def test_json_when_fail_percent_stops_the_run(pyinfra, deploy_dir, tmp_path, sshd):
    """Too many hosts fail to connect: the reachable one ran nothing and is no success."""
    root, out = make_deploy(deploy_dir, tmp_path, sshd.port)
    (root / "config.py").write_text("FAIL_PERCENT = 10\n")
    result = pyinfra("inventory.py", "deploy.py", "--json", cwd=root, port=False)
    assert result.returncode == 1, result.output
    doc = document(result)
    assert "FAIL_PERCENT" in doc["error"]
    host = doc["hosts"]["127.0.0.2"]
    assert host["success"] is False and "FAIL_PERCENT" in host["error"]
    assert doc["hosts"]["127.0.0.9"]["success"] is False
    assert list(out.iterdir()) == []
