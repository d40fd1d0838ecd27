"""The engine through the real command against the test sshd: data hierarchy, hooks,
limits and modes, failures."""

import time

INVENTORY = """
APP_SERVERS = ['127.0.0.2', ('127.0.0.3', {'color': 'host-red'})]
DB_SERVERS = ['127.0.0.3', '127.0.0.4']
"""


def test_data_hierarchy_override_host_group_all(pyinfra, deploy_dir, tmp_path):
    out = tmp_path / "out"
    root = deploy_dir(
        {
            "inventories/production.py": INVENTORY,
            "group_data/all.py": f"""
            import os
            out = '{out}'
            color = 'all-grey'
            size = 'all-small'
            shape = 'all-round'
            flavour = 'all-plain'
            _private = 'hidden'
            def helper():
                return 1
        """,
            "group_data/production.py": "shape = 'production-square'\n",
            "group_data/app_servers.py": "size = 'app-large'\ncolor = 'app-blue'\n",
            "group_data/db_servers.py": "size = 'db-huge'\n",
            "deploy.py": """
            from pyinfra import host
            from pyinfra.modules import files, server
            files.directory('{{ host.data.out }}/{{ host.name }}', recursive=True)
            server.shell('echo {{ host.data.color }} {{ host.data.size }} {{ host.data.shape }}'
                         ' {{ host.data.flavour }} {{ host.data.missing | default(None) }}'
                         ' {{ host.data._private | default(None) }} {{ host.data.helper | default(None) }}'
                         ' {{ host.data.os | default(None) }}'
                         ' > {{ host.data.out }}/{{ host.name }}/data')
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", "--data", "flavour=cli-mint", cwd=root)
    assert result.returncode == 0, result.output
    read = lambda name: (out / name / "data").read_text().split()  # noqa: E731
    # group order: the inventory's own groups in file order, then 'production', then 'all'
    assert read("127.0.0.2") == [
        "app-blue",
        "app-large",
        "production-square",
        "cli-mint",
        "None",
        "None",
        "None",
        "None",
    ]
    assert read("127.0.0.3") == [
        "host-red",
        "app-large",
        "production-square",
        "cli-mint",
        "None",
        "None",
        "None",
        "None",
    ]
    assert read("127.0.0.4") == [
        "all-grey",
        "db-huge",
        "production-square",
        "cli-mint",
        "None",
        "None",
        "None",
        "None",
    ]


def test_hooks_run_in_order_with_data_and_state(pyinfra, deploy_dir, tmp_path):
    log = tmp_path / "hooks.log"
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2']\n",
            "group_data/all.py": "app = 'shop'\n",
            "deploy.py": f"""
            from pyinfra import hook
            from pyinfra.modules import server

            def note(text):
                with open('{log}', 'a') as handle:
                    handle.write(text + '\\n')

            @hook.before_connect
            def one(data, state):
                note('before_connect ' + data.app + ' ' + str(len(state.inventory)))

            @hook.before_facts
            def two(data, state):
                note('before_facts')

            @hook.before_deploy
            def three(data, state):
                note('before_deploy ' + str(len(state.op_order)))

            @hook.after_deploy
            def four(data, state):
                note('after_deploy')

            server.shell('true')
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert log.read_text().split("\n")[:-1] == [
        "before_connect shop 1",
        "before_facts",
        "before_deploy 1",
        "after_deploy",
    ]


def test_hook_error_stops_before_anything_runs(pyinfra, deploy_dir, tmp_path):
    for hook_name in ("before_connect", "before_facts", "before_deploy"):
        marker = tmp_path / f"ran-{hook_name}"
        root = deploy_dir(
            {
                "inventories/production.py": "WEB = ['127.0.0.2', '127.0.0.3']\n",
                "deploy.py": f"""
                from pyinfra import hook
                from pyinfra.hook import HookError
                from pyinfra.modules import server

                @hook.{hook_name}
                def stop(data, state):
                    raise hook.Error('not today: {hook_name}')

                server.shell('touch {marker}')
            """,
            }
        )
        result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
        assert result.returncode == 1, result.output
        assert f"not today: {hook_name}" in result.stderr
        assert "Traceback" not in result.output
        assert not marker.exists()


def test_second_run_changes_nothing_and_says_so(pyinfra, deploy_dir, tmp_path):
    base = tmp_path / "site"
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2', '127.0.0.3']\n",
            "files/app.conf": "listen 80\n",
            "templates/motd.jn2": "Hello {{ host.name }} in {{ data.env }} {{ extra }}\n",
            "group_data/all.py": f"base = '{base}'\nenv = 'prod'\n",
            "deploy.py": """
            from pyinfra.modules import files
            files.directory('{{ host.data.base }}/{{ host.name }}/etc', recursive=True)
            files.put('files/app.conf', '{{ host.data.base }}/{{ host.name }}/etc/app.conf')
            files.template('templates/motd.jn2', '{{ host.data.base }}/{{ host.name }}/motd',
                           extra='!')
            files.file('{{ host.data.base }}/{{ host.name }}/log', mode='600')
            files.line('{{ host.data.base }}/{{ host.name }}/log', 'started')
            files.link('{{ host.data.base }}/{{ host.name }}/conf',
                       target='{{ host.data.base }}/{{ host.name }}/etc/app.conf')
        """,
        }
    )
    first = pyinfra("inventories/production.py", "deploy.py", "-v", cwd=root)
    assert first.returncode == 0, first.output
    for name in ("127.0.0.2", "127.0.0.3"):
        site = base / name
        assert (site / "etc/app.conf").read_text() == "listen 80\n"
        assert (site / "motd").read_text() == f"Hello {name} in prod !\n"
        assert (site / "log").read_text() == "started\n"
        assert oct((site / "log").stat().st_mode & 0o777) == "0o600"
        assert (site / "conf").is_symlink()
        assert not [p for p in (site / "etc").iterdir() if p.name != "app.conf"]
    assert "6/6 operations, 6 changed" in first.output

    second = pyinfra("inventories/production.py", "deploy.py", "-v", cwd=root)
    assert second.returncode == 0, second.output
    assert "Success (changed)" not in second.output
    assert second.output.count("6/6 operations, 0 changed") == 2


def test_dry_run_changes_nothing(pyinfra, deploy_dir, tmp_path):
    target = tmp_path / "dry"
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2']\n",
            "deploy.py": f"""
            from pyinfra.modules import files
            files.directory('{target}')
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", "--dry", "-vv", cwd=root)
    assert result.returncode == 0, result.output
    assert "Proposed changes" in result.output
    assert f"mkdir -p {target}" in result.output
    assert not target.exists()


def test_limit_by_host_group_and_wildcard(pyinfra, deploy_dir, tmp_path):
    out = tmp_path / "out"
    root = deploy_dir(
        {
            "inventories/production.py": INVENTORY,
            "group_data/all.py": f"out = '{out}'\n",
            "deploy.py": """
            from pyinfra.modules import files
            files.directory('{{ host.data.out }}/{{ host.name }}', recursive=True)
        """,
        }
    )
    for limit, expected in (
        ("127.0.0.2", ["127.0.0.2"]),
        ("db_servers", ["127.0.0.3", "127.0.0.4"]),
        ("127.0.0.[34]", ["127.0.0.3", "127.0.0.4"]),
        ("127.*", ["127.0.0.2", "127.0.0.3", "127.0.0.4"]),
    ):
        result = pyinfra("inventories/production.py", "deploy.py", "--limit", limit, cwd=root)
        assert result.returncode == 0, result.output
        assert sorted(p.name for p in out.iterdir()) == expected
        for path in out.iterdir():
            path.rmdir()
    nothing = pyinfra("inventories/production.py", "deploy.py", "--limit", "nosuch", cwd=root)
    assert nothing.returncode == 2
    assert "matches no host" in nothing.stderr


def test_failing_command_shows_command_status_output_and_stops_host(pyinfra, deploy_dir, tmp_path):
    after = tmp_path / "after"
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2', '127.0.0.3']\n",
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import server
            if host.name == '127.0.0.2':
                server.shell('echo bad thing happened >&2; exit 3')
            server.shell('mkdir -p {after} && touch {after}/{{{{ host.name }}}}')
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
    assert result.returncode == 1
    assert "exit status 3" in result.output
    assert "echo bad thing happened >&2; exit 3" in result.output
    assert "bad thing happened" in result.output
    assert sorted(p.name for p in after.iterdir()) == ["127.0.0.3"]
    assert "Traceback" not in result.output


def test_ignore_errors_lets_host_continue(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2']\n",
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('exit 5', ignore_errors=True)
            server.shell('touch {tmp_path}/continued')
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert "Server/Shell (exit 5): 1 error ignored: 127.0.0.2" in result.output, result.output
    result = pyinfra("inventories/production.py", "deploy.py", "-v", cwd=root)
    assert result.returncode == 0, result.output
    assert "Error (ignored)" in result.output
    assert (tmp_path / "continued").exists()


def test_fail_percent_stops_the_deploy(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2', '127.0.0.3', '127.0.0.4']\n",
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import server
            FAIL_PERCENT = 20
            if host.name == '127.0.0.2':
                server.shell('exit 1')
            else:
                server.shell('true')
            server.shell('touch {tmp_path}/second-{{{{ host.name }}}}')
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
    assert result.returncode == 1
    assert "FAIL_PERCENT" in result.output
    assert not list(tmp_path.glob("second-*"))

    # Without FAIL_PERCENT a failure only stops that host.
    (root / "deploy.py").write_text(
        (root / "deploy.py").read_text().replace("FAIL_PERCENT = 20", "FAIL_PERCENT = None")
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
    assert result.returncode == 1
    assert sorted(p.name for p in tmp_path.glob("second-*")) == [
        "second-127.0.0.3",
        "second-127.0.0.4",
    ]


def test_unreachable_and_hanging_hosts_fail_within_timeout(pyinfra, deploy_dir, tmp_path, hang_port, sshd):
    root = deploy_dir(
        {
            "inventories/production.py": f"""
            WEB = [
                ('127.0.0.2', {{'ssh_port': {sshd.port}}}),
                ('127.0.0.1', {{'ssh_port': {hang_port}}}),
                ('127.0.0.6', {{'ssh_port': 1}}),
            ]
        """,
            "deploy.py": f"""
            from pyinfra.modules import server
            TIMEOUT = 2
            server.shell('touch {tmp_path}/ran-{{{{ host.name }}}}')
        """,
        }
    )
    started = time.monotonic()
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root, port=False)
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert elapsed < 15, result.output
    assert "127.0.0.1" in result.output and "no SSH answer within 2" in result.output
    assert "127.0.0.6" in result.output and "refused" in result.output.lower()
    assert [p.name for p in tmp_path.glob("ran-*")] == ["ran-127.0.0.2"]
    assert "1 host(s) succeeded, 2 failed" in result.output


def test_hostile_file_names_are_literal(pyinfra, deploy_dir, tmp_path):
    base = tmp_path / "hostile"
    names = [
        "with space",
        "quote'single",
        'quote"double',
        "dollar$(touch PWNED)",
        "back`touch PWNED`tick",
        "semi;touch PWNED",
    ]
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2']\n",
            "files/src": "content\n",
            "deploy.py": f"""
            from pyinfra.modules import files
            names = {names!r}
            files.directory({str(base)!r})
            for name in names:
                files.directory({str(base)!r} + '/dir ' + name)
                files.file({str(base)!r} + '/file ' + name)
                files.put('files/src', {str(base)!r} + '/put ' + name)
                files.line({str(base)!r} + '/file ' + name, 'line ' + name)
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    for name in names:
        assert (base / f"dir {name}").is_dir()
        assert (base / f"file {name}").read_text() == f"line {name}\n"
        assert (base / f"put {name}").read_text() == "content\n"
    assert not list(tmp_path.rglob("PWNED")) and not (root / "PWNED").exists()


def test_serial_and_no_wait_modes(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2', '127.0.0.3']\n",
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell('echo {{{{ host.name }}}} >> {tmp_path}/order')
            server.shell('echo {{{{ host.name }}}}-2 >> {tmp_path}/order')
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", "--serial", cwd=root)
    assert result.returncode == 0, result.output
    assert (tmp_path / "order").read_text().split() == [
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.2-2",
        "127.0.0.3-2",
    ]
    (tmp_path / "order").unlink()
    result = pyinfra("inventories/production.py", "deploy.py", "--no-wait", cwd=root)
    assert result.returncode == 0, result.output
    lines = (tmp_path / "order").read_text().split()
    assert sorted(lines) == ["127.0.0.2", "127.0.0.2-2", "127.0.0.3", "127.0.0.3-2"]
    assert lines.index("127.0.0.2") < lines.index("127.0.0.2-2")


def test_fail_percent_counts_hosts_that_failed_to_connect(pyinfra, deploy_dir, tmp_path, sshd):
    root = deploy_dir(
        {
            "inventories/production.py": f"""
            WEB = [('127.0.0.2', {{'ssh_port': {sshd.port}}}),
                   ('127.0.0.3', {{'ssh_port': {sshd.port}}}),
                   ('127.0.0.6', {{'ssh_port': 1}})]
        """,
            "deploy.py": f"""
            from pyinfra.modules import server
            FAIL_PERCENT = 30
            server.shell('touch {tmp_path}/ran-{{{{ host.name }}}}')
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root, port=False)
    assert result.returncode == 1
    assert "too many hosts failed to connect" in result.output
    assert not list(tmp_path.glob("ran-*"))


def test_function_argument_is_one_operation_across_hosts(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2', '127.0.0.3']\n",
            "deploy.py": f"""
            from pyinfra.modules import python

            def note(state, host):
                open('{tmp_path}/' + host.name, 'w').write('ran')

            python.execute(note)
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", "-v", cwd=root)
    assert result.returncode == 0, result.output
    assert result.output.count("Starting operation: Python/Execute") == 1
    assert "0x" not in result.output
    assert sorted(p.name for p in tmp_path.glob("127.*")) == ["127.0.0.2", "127.0.0.3"]


def test_a_deploys_facts_are_read_in_one_round_trip_per_host(pyinfra, deploy_dir, tmp_path):
    out = tmp_path / "out"
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import files, server
            base = '{out}/{{{{ host.name }}}}'
            files.directory(base, recursive=True)
            files.file(base + '/log', mode='600')
            files.line(base + '/log', 'started')
            files.link(base + '/current', target=base + '/log')
            meta = files.directory('{out}/{{{{ host.name }}}}/extra')
            if meta.commands:
                server.shell('echo made > {out}/{{{{ host.name }}}}/made')
        """,
        }
    )
    hosts = "127.0.0.2,127.0.0.3,127.0.0.4"
    for attempt in ("first", "second"):
        result = pyinfra(hosts, "deploy.py", "--debug", cwd=root)
        assert result.returncode == 0, result.output
        for name in hosts.split(","):
            reads = [line for line in result.output.splitlines() if f"[{name}] reading fact" in line]
            # Five operations' facts (directory, file, find_in_file, link, directory)
            # in one round trip, though the deploy looks at an operation's meta.
            assert len(reads) == 1, (attempt, reads)
            assert (out / name / "made").read_text() == "made\n"
    assert "5 changed" not in result.output and "0 changed" in result.output


def test_an_operations_commands_stop_at_the_first_that_fails(pyinfra, deploy_dir, tmp_path):
    # An operation's commands travel together; those after a failure must not run.
    out = tmp_path / "out"
    out.mkdir()
    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2', '127.0.0.3']\n",
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import server
            steps = ['touch {out}/one-{{{{ host.name }}}}', 'echo broke >&2; exit 4',
                     'touch {out}/three-{{{{ host.name }}}}']
            if host.name == '127.0.0.2':
                server.shell(steps)
            else:
                server.shell(steps, ignore_errors=True)
            server.shell('touch {out}/next-{{{{ host.name }}}}')
        """,
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
    assert result.returncode == 1, result.output
    assert "exit status 4" in result.output and "broke" in result.output
    made = sorted(p.name for p in out.iterdir())
    assert made == ["next-127.0.0.3", "one-127.0.0.2", "one-127.0.0.3"], result.output
    assert "Traceback" not in result.output


def test_an_operations_commands_go_in_one_round_trip(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "files/app.conf": "port = 80\n",
            "deploy.py": f"""
            from pyinfra.modules import files, server
            files.put('files/app.conf', '{tmp_path}/app.conf', mode='600')
            server.shell(['echo a > {tmp_path}/a', 'echo b > {tmp_path}/b', 'echo c > {tmp_path}/c'])
        """,
        }
    )
    result = pyinfra("127.0.0.2", "deploy.py", "--debug", cwd=root, env={"PYINFRA_SSH_TRANSPORT": "shell"})
    assert result.returncode == 0, result.output
    together = [line for line in result.output.splitlines() if "[127.0.0.2] one round trip" in line]
    # The facts; the parent directory (made when missing), the upload, its chmod and
    # move (one command); then the three commands.
    assert together == [
        "debug: [127.0.0.2] one round trip: 1 command(s)",
        "debug: [127.0.0.2] one round trip: 3 command(s)",
        "debug: [127.0.0.2] one round trip: 3 command(s)",
    ], result.output
    assert (tmp_path / "app.conf").read_text() == "port = 80\n"
    assert oct((tmp_path / "app.conf").stat().st_mode & 0o777) == "0o600"
    assert [(tmp_path / n).read_text() for n in "abc"] == ["a\n", "b\n", "c\n"]


def test_a_timeout_inside_an_operations_commands_stops_it_on_time(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import server
            server.shell(['true', 'sleep 30', 'touch {tmp_path}/never'], timeout=1, ignore_errors=True)
            server.shell('touch {tmp_path}/after')
        """,
        }
    )
    started = time.monotonic()
    result = pyinfra("127.0.0.2", "deploy.py", "-v", cwd=root)
    assert result.returncode == 0, result.output
    assert time.monotonic() - started < 20
    assert "timed out" in result.output and "sleep 30" in result.output
    assert (tmp_path / "after").exists() and not (tmp_path / "never").exists()
