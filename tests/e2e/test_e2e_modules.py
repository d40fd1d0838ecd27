"""Every operation that can run on a Debian host without the internet, through the real
`pyinfra` command against the test sshd: apply, check the host really changed, apply
again and check nothing was changed or reported as changed.

Hosts are 127.0.0.X on this machine, as root: each host works in its own directory;
users, groups, packages and services (global state) use one host and names that carry
this process's id, and are removed afterwards."""

import base64
import functools
import glob
import grp
import hashlib
import http.server
import os
import pwd
import re
import subprocess
import threading
import zipfile

import pytest

RUN_ID = os.getpid()


def applied(result):
    assert result.returncode == 0, result.output
    assert re.search(r" 0 failed: [0-9]+ operations, [1-9][0-9]* changed", result.output), result.output
    return result


def unchanged(result):
    """The second application: it succeeded, and no operation changed anything."""
    assert result.returncode == 0, result.output
    assert re.search(r" 0 failed: [0-9]+ operations, 0 changed", result.output), result.output
    return result


@pytest.fixture
def http_server(tmp_path):
    """An HTTP server on 127.0.0.1 serving a directory: (directory, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_files_operations(pyinfra, deploy_dir, tmp_path, http_server):
    www, url = http_server
    (www / "app.tar.gz").write_bytes(b"pretend archive\n")
    base = tmp_path / "hosts"
    hosts = ("127.0.0.2", "127.0.0.3")
    for name in hosts:
        site = base / name
        (site / "www" / "stale").mkdir(parents=True)
        (site / "www" / "stale" / "old.js").write_text("old\n")
        (site / "www" / "extra.html").write_text("extra\n")
        (site / "app.ini").write_text("[server]\nport=80\nhost=0.0.0.0\n")
        (site / "limits.conf").write_text("nofile 1024\n")
        (site / "remove-me").write_text("x\n")
    root = deploy_dir(
        {
            "inventories/test.py": f"HOSTS = {list(hosts)!r}\n",
            "group_data/all.py": f"base = '{base}'\nurl = '{url}'\n",
            "files/app.conf": "listen 80\n",
            "files/site/index.html": "<h1>hi</h1>\n",
            "files/site/css/app.css": "body {}\n",
            "templates/motd.jn2": "Welcome to {{ host.name }}, {{ who }}\n",
            "deploy.py": """
            from pyinfra.modules import files
            site = '{{ host.data.base }}/{{ host.name }}'
            files.directory(site + '/etc', mode=750)
            files.file(site + '/etc/empty', mode='0600')
            files.file(site + '/remove-me', present=False)
            files.put('files/app.conf', site + '/etc/app.conf', mode=644)
            files.template('templates/motd.jn2', site + '/motd', who='ops')
            files.link(site + '/conf', target=site + '/etc/app.conf')
            files.line(site + '/limits.conf', 'workers 4')
            files.line(site + '/limits.conf', '^nofile ', replace='nofile 65536')
            files.replace(site + '/app.ini', 'port=80$', 'port=8080')
            files.sync('files/site', site + '/www', mode=640, delete=True)
            files.download('{{ host.data.url }}/app.tar.gz', site + '/app.tar.gz', mode=600)
        """,
        }
    )
    first = applied(pyinfra("inventories/test.py", "deploy.py", cwd=root))
    assert "2 host(s) succeeded, 0 failed: 22 operations, 22 changed" in first.output, first.output
    for name in hosts:
        site = base / name
        assert oct((site / "etc").stat().st_mode & 0o777) == "0o750"
        assert (site / "etc" / "empty").read_text() == ""
        assert not (site / "remove-me").exists()
        assert (site / "etc" / "app.conf").read_text() == "listen 80\n"
        assert (site / "motd").read_text() == f"Welcome to {name}, ops\n"
        assert os.readlink(site / "conf") == str(site / "etc" / "app.conf")
        assert (site / "limits.conf").read_text() == "nofile 65536\nworkers 4\n"
        assert (site / "app.ini").read_text() == "[server]\nport=8080\nhost=0.0.0.0\n"
        assert (site / "www" / "index.html").read_text() == "<h1>hi</h1>\n"
        assert (site / "www" / "css" / "app.css").read_text() == "body {}\n"
        assert oct((site / "www" / "css" / "app.css").stat().st_mode & 0o777) == "0o640"
        assert not (site / "www" / "stale").exists() and not (site / "www" / "extra.html").exists()
        assert (site / "app.tar.gz").read_bytes() == b"pretend archive\n"
        assert oct((site / "app.tar.gz").stat().st_mode & 0o777) == "0o600"
        assert not list(site.rglob(".*pyinfra-*")), "temporary files left behind"
    unchanged(pyinfra("inventories/test.py", "deploy.py", cwd=root))

    # A changed source is uploaded again, and only that.
    (root / "files" / "site" / "index.html").write_text("<h1>changed</h1>\n")
    changed = applied(pyinfra("inventories/test.py", "deploy.py", cwd=root))
    assert "2 host(s) succeeded, 0 failed: 22 operations, 2 changed" in changed.output, changed.output
    assert (base / "127.0.0.3" / "www" / "index.html").read_text() == "<h1>changed</h1>\n"
    unchanged(pyinfra("inventories/test.py", "deploy.py", cwd=root))


def test_files_line_and_replace_edit_in_place(pyinfra, deploy_dir, tmp_path):
    conf = tmp_path / "sshd_config"
    conf.write_text("Port 22\n#PermitRootLogin prohibit-password\nUsePAM yes\n")
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import files
            files.line('{conf}', '^#\\\\?PermitRootLogin', replace='PermitRootLogin no')
            files.line('{conf}', 'UsePAM', present=False)
            files.line('{conf}', 'X11Forwarding no')
            files.replace('{conf}', '^Port 22$', 'Port 2222')
        """,
        }
    )
    applied(pyinfra("127.0.0.2", "deploy.py", cwd=root))
    assert conf.read_text() == "Port 2222\nPermitRootLogin no\nX11Forwarding no\n"
    unchanged(pyinfra("127.0.0.2", "deploy.py", cwd=root))


def test_server_group_user_and_wait(pyinfra, deploy_dir, tmp_path, sshd):
    group, user = f"pie2e{RUN_ID}g", f"pie2e{RUN_ID}u"
    home = tmp_path / "home" / user
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPyinfraE2eTestKeyOnlyForThisTest00000000 e2e@test"
    root = deploy_dir(
        {
            "present.py": f"""
            from pyinfra.modules import server
            server.group('{group}')
            server.user('{user}', home='{home}', shell='/bin/sh', groups=['{group}'],
                        public_keys=['{key}'])
            server.wait(port={sshd.port})
        """,
            "absent.py": f"""
            from pyinfra.modules import server
            server.user('{user}', present=False)
            server.group('{group}', present=False)
        """,
        }
    )
    try:
        first = applied(pyinfra("127.0.0.2", "present.py", cwd=root))
        assert "1 host(s) succeeded, 0 failed: 3 operations, 3 changed" in first.output
        entry = pwd.getpwnam(user)
        assert entry.pw_dir == str(home) and entry.pw_shell == "/bin/sh"
        assert user in grp.getgrnam(group).gr_mem
        keys = home / ".ssh" / "authorized_keys"
        assert keys.read_text() == key + "\n"
        assert oct((home / ".ssh").stat().st_mode & 0o777) == "0o700"
        assert (home / ".ssh").stat().st_uid == entry.pw_uid
        unchanged(pyinfra("127.0.0.2", "present.py", cwd=root))

        applied(pyinfra("127.0.0.2", "absent.py", cwd=root))
        with pytest.raises(KeyError):
            pwd.getpwnam(user)
        with pytest.raises(KeyError):
            grp.getgrnam(group)
        unchanged(pyinfra("127.0.0.2", "absent.py", cwd=root))
    finally:
        subprocess.run(["userdel", user], capture_output=True)
        subprocess.run(["groupdel", group], capture_output=True)


LISTENER = """
import socket, sys, time
with socket.socket() as server:
    server.bind(("127.0.0.1", int(sys.argv[1])))
    server.listen()
    open(sys.argv[2], "w").close()
    time.sleep(10)
"""


def test_server_wait_waits_for_the_port(pyinfra, deploy_dir, tmp_path):
    """A port that starts listening two seconds after the deploy started it."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    listener, listening, waited = tmp_path / "listener.py", tmp_path / "listening", tmp_path / "waited"
    listener.write_text(LISTENER)
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('(sleep 1; exec python3 {listener} {port} {listening}) >/dev/null 2>&1 &')
            server.wait(port={port}, timeout=30)
            server.shell('test -f {listening} && touch {waited}')
        """,
        }
    )
    applied(pyinfra("127.0.0.2", "deploy.py", cwd=root))
    assert waited.exists()


def test_shell_script_and_python_execute_run_each_time(pyinfra, deploy_dir, tmp_path):
    log = tmp_path / "log"
    root = deploy_dir(
        {
            "scripts/hello.sh": f'#!/bin/sh\necho "script in $(pwd)" >> {log}\n',
            "deploy.py": f"""
            from pyinfra.modules import python, server

            def note(state, host, word, suffix=''):
                with open('{log}', 'a') as handle:
                    handle.write('python ' + host.name + ' ' + word + suffix + '\\n')

            server.shell('echo shell >> {log}')
            server.script('scripts/hello.sh', chdir='{tmp_path}')
            python.execute(note, 'called', suffix='!')
        """,
        }
    )
    applied(pyinfra("127.0.0.2", "deploy.py", cwd=root))
    once = ["shell", f"script in {tmp_path}", "python 127.0.0.2 called!"]
    assert log.read_text().splitlines() == once
    home = pwd.getpwnam("root").pw_dir
    assert not [p for p in os.listdir(home) if p.startswith(".pyinfra-") and p.endswith("-hello.sh")]
    applied(pyinfra("127.0.0.2", "deploy.py", cwd=root))
    assert log.read_text().splitlines() == once * 2


def build_deb(directory, name: str, version: str) -> str:
    """A tiny .deb installing /opt/<name>/hello, built with dpkg-deb."""
    tree = directory / f"{name}-{version}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: pyinfra tests <tests@example.com>\nDescription: a package for the tests\n"
    )
    (tree / "opt" / name).mkdir(parents=True)
    (tree / "opt" / name / "hello").write_text(f"hello {version}\n")
    path = directory / f"{name}_{version}_all.deb"
    subprocess.run(
        ["dpkg-deb", "--build", "--root-owner-group", str(tree), str(path)], check=True, capture_output=True
    )
    return str(path)


def installed_version(name: str):
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Status} ${Version}", name], capture_output=True, text=True
    )
    if result.returncode != 0 or " installed " not in result.stdout + " ":
        return None
    return result.stdout.split()[-1]


def test_apt_deb_and_packages(pyinfra, deploy_dir, tmp_path):
    name = f"pyinfra-e2e-{RUN_ID}"
    deb = build_deb(tmp_path, name, "1.0")
    root = deploy_dir(
        {
            "install.py": f"""
            from pyinfra.modules import apt
            apt.deb('{deb}')
        """,
            "present.py": f"""
            from pyinfra.modules import apt
            apt.deb('{deb}')
            apt.packages(['{name}'])
        """,
            "remove.py": f"""
            from pyinfra.modules import apt
            apt.packages('{name}', present=False)
        """,
        }
    )
    try:
        applied(pyinfra("127.0.0.2", "install.py", cwd=root))
        assert installed_version(name) == "1.0"
        assert open(f"/opt/{name}/hello").read() == "hello 1.0\n"
        unchanged(pyinfra("127.0.0.2", "present.py", cwd=root))

        applied(pyinfra("127.0.0.2", "remove.py", cwd=root))
        assert installed_version(name) is None
        assert not os.path.exists(f"/opt/{name}")
        unchanged(pyinfra("127.0.0.2", "remove.py", cwd=root))
    finally:
        subprocess.run(["dpkg", "-r", name], capture_output=True)


def git(*args, cwd=None):
    environment = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    subprocess.run(["git", *args], cwd=cwd, env=environment, check=True, capture_output=True)


def test_git_repo_clone_pull_and_branch(pyinfra, deploy_dir, tmp_path):
    bare, work = tmp_path / "origin.git", tmp_path / "work"
    git("init", "-q", "--bare", "-b", "master", str(bare))
    git("clone", "-q", str(bare), str(work))
    (work / "README").write_text("one\n")
    git("add", "README", cwd=work)
    git("commit", "-q", "-m", "one", cwd=work)
    git("push", "-q", "origin", "HEAD:master", cwd=work)
    git("push", "-q", "origin", "HEAD:develop", cwd=work)

    checkout = tmp_path / "hosts" / "127.0.0.2" / "app"
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import git
            git.repo('{bare}', '{checkout}')
        """,
            "develop.py": f"""
            from pyinfra.modules import git
            git.repo('{bare}', '{checkout}', branch='develop')
        """,
        }
    )
    applied(pyinfra("127.0.0.2", "deploy.py", cwd=root))
    assert (checkout / "README").read_text() == "one\n"
    unchanged(pyinfra("127.0.0.2", "deploy.py", cwd=root))

    (work / "README").write_text("two\n")
    git("commit", "-q", "-am", "two", cwd=work)
    git("push", "-q", "origin", "HEAD:master", cwd=work)
    applied(pyinfra("127.0.0.2", "deploy.py", cwd=root))
    assert (checkout / "README").read_text() == "two\n"
    unchanged(pyinfra("127.0.0.2", "deploy.py", cwd=root))

    applied(pyinfra("127.0.0.2", "develop.py", cwd=root))
    head = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--abbrev-ref", "HEAD"], capture_output=True, text=True
    )
    assert head.stdout.strip() == "develop"
    assert (checkout / "README").read_text() == "one\n"
    unchanged(pyinfra("127.0.0.2", "develop.py", cwd=root))


def build_wheel(directory, name: str, version: str) -> str:
    """A pure-Python wheel built by hand (a wheel is a zip with metadata and a RECORD),
    so no build backend or network is needed."""
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    files = {
        f"{module}.py": f"VERSION = {version!r}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: pyinfra-tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }

    def digest(text):
        raw = hashlib.sha256(text.encode()).digest()
        return "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    record = "".join(f"{path},{digest(text)},{len(text.encode())}\n" for path, text in files.items())
    path = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name_in_zip, text in files.items():
            wheel.writestr(name_in_zip, text)
        wheel.writestr(f"{info}/RECORD", record + f"{info}/RECORD,,\n")
    return str(path)


def test_pip_packages_in_a_virtualenv_from_local_wheels(pyinfra, deploy_dir, tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(wheels, "pyinfra-e2e-alpha", "0.1")
    beta = build_wheel(wheels, "pyinfra-e2e-beta", "0.2")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"{beta}\n")
    venv = tmp_path / "hosts" / "127.0.0.2" / "venv"
    offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import pip
            pip.packages('pyinfra-e2e-alpha==0.1', virtualenv='{venv}', env={offline!r})
            pip.packages(requirements='{requirements}', virtualenv='{venv}', env={offline!r})
        """,
            "remove.py": f"""
            from pyinfra.modules import pip
            pip.packages(['pyinfra_e2e_alpha', 'pyinfra-e2e-beta'], present=False, virtualenv='{venv}')
        """,
        }
    )
    applied(pyinfra("127.0.0.2", "deploy.py", cwd=root))
    python = str(venv / "bin" / "python")
    check = "import pyinfra_e2e_alpha as a, pyinfra_e2e_beta as b; print(a.VERSION, b.VERSION)"
    assert subprocess.run([python, "-c", check], capture_output=True, text=True).stdout == "0.1 0.2\n"
    unchanged(pyinfra("127.0.0.2", "deploy.py", cwd=root))

    applied(pyinfra("127.0.0.2", "remove.py", cwd=root))
    assert subprocess.run([python, "-c", "import pyinfra_e2e_alpha"], capture_output=True).returncode == 1
    unchanged(pyinfra("127.0.0.2", "remove.py", cwd=root))


INIT_SCRIPT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          {name}
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: a pretend service for the pyinfra tests
### END INIT INFO
state={state}
case "$1" in
  start) echo started >> {log}; touch "$state" ;;
  stop) echo stopped >> {log}; rm -f "$state" ;;
  restart) echo restarted >> {log}; touch "$state" ;;
  status) [ -f "$state" ] && exit 0 || exit 3 ;;
  *) exit 1 ;;
esac
"""


def rc_links(name):
    """{link path: target} of the service's /etc/rc?.d links."""
    return {path: os.readlink(path) for path in glob.glob(f"/etc/rc?.d/[SK][0-9][0-9]{name}")}


def test_init_d_service_and_links(pyinfra, deploy_dir, tmp_path):
    """On Debian, enabled=True is `update-rc.d NAME defaults`, as in 0.1: its links
    (relative, ordered by the script's LSB header) are the system's own."""
    name = f"pyinfra-e2e-{RUN_ID}"
    script = f"/etc/init.d/{name}"
    log, state = tmp_path / "log", tmp_path / "running"
    with open(script, "w") as handle:
        handle.write(INIT_SCRIPT.format(name=name, state=state, log=log))
    os.chmod(script, 0o755)
    root = deploy_dir(
        {
            "running.py": f"""
            from pyinfra.modules import init
            init.d('{name}', enabled=True)
        """,
            "stopped.py": f"""
            from pyinfra.modules import init
            init.d('{name}', running=False, enabled=False)
        """,
        }
    )
    try:
        applied(pyinfra("127.0.0.2", "running.py", cwd=root))
        assert state.exists() and log.read_text() == "started\n"
        links = rc_links(name)
        levels = sorted(
            (os.path.basename(os.path.dirname(path))[2], os.path.basename(path)[0]) for path in links
        )
        assert levels == [("0", "K"), ("1", "K"), ("2", "S"), ("3", "S"), ("4", "S"), ("5", "S"), ("6", "K")]
        for path in links:
            assert os.path.realpath(path) == script
        unchanged(pyinfra("127.0.0.2", "running.py", cwd=root))
        assert rc_links(name) == links

        applied(pyinfra("127.0.0.2", "stopped.py", cwd=root))
        assert not state.exists() and log.read_text() == "started\nstopped\n"
        assert rc_links(name) == {}
        unchanged(pyinfra("127.0.0.2", "stopped.py", cwd=root))
    finally:
        for link in rc_links(name):
            os.remove(link)
        os.remove(script)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            "files.directory('/tmp/x', mode='u+rwx')",
            "files.directory(): mode 'u+rwx' is not an octal file mode",
        ),
        ("files.put('files/none.conf', '/tmp/x')", "files.put(): local file not found: "),
        ("files.template('templates/broken.jn2', '/tmp/x')", "files.template(): template "),
        ("files.sync('files/nosuch', '/tmp/x')", "files.sync(): local directory not found: "),
        ("server.script('nosuch.sh')", "server.script(): local file not found: "),
        ("server.wait(port='http')", "server.wait(): port must be a TCP port number, not 'http'"),
        (
            "apt.packages('nano', lastest=True)",
            "apt.packages(): got an unexpected keyword argument 'lastest'",
        ),
        (
            "git.repo('/srv/repo.git', '/tmp/x', ssh_keyscan=True)",
            "git.repo(): ssh_keyscan needs an SSH source",
        ),
    ],
)
def test_bad_arguments_fail_before_anything_runs(pyinfra, deploy_dir, tmp_path, call, message):
    marker = tmp_path / "ran"
    root = deploy_dir(
        {
            "templates/broken.jn2": "line one\n{{ host.name }\n",
            "deploy.py": f"""
            from pyinfra.modules import apt, files, git, server
            server.shell('touch {marker}')

            {call}
        """,
        }
    )
    result = pyinfra("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode == 1, result.output
    assert f"deploy.py, line 4: {message}" in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert not marker.exists(), "nothing may run when the deploy cannot be built"
    if "template" in call:
        assert "broken.jn2, line 2" in result.stderr


def test_init_rc_runs_the_rc_d_script_and_converges(pyinfra, deploy_dir, tmp_path):
    """init.rc as 0.1 documents it: /etc/rc.d/<name> start, stop, from its onestatus."""
    name = f"pyinfra-t-rc-{RUN_ID}"
    state = tmp_path / "running"
    made_dir = not os.path.isdir("/etc/rc.d")
    os.makedirs("/etc/rc.d", exist_ok=True)
    script = f"/etc/rc.d/{name}"
    with open(script, "w") as handle:
        handle.write(
            "#!/bin/sh\n"
            f'case "$1" in start) touch {state} ;; stop) rm -f {state} ;;'
            f" onestatus) [ -e {state} ] ;; *) exit 2 ;; esac\n"
        )
    os.chmod(script, 0o755)
    try:
        for running, exists in ((True, True), (False, False)):
            root = deploy_dir(
                {
                    "inventory.py": "HOSTS = ['127.0.0.2']\n",
                    "deploy.py": f"from pyinfra.modules import init\ninit.rc('{name}', running={running})\n",
                }
            )
            applied(pyinfra("inventory.py", "deploy.py", cwd=root))
            assert state.exists() is exists
            unchanged(pyinfra("inventory.py", "deploy.py", cwd=root))
            assert state.exists() is exists
    finally:
        os.remove(script)
        if made_dir:
            os.rmdir("/etc/rc.d")
