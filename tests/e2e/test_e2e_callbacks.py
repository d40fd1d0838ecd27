"""A python.execute callback that raises fails its own host, not the deploy: the other
hosts go on, hooks still fire, the summary is printed and the exit status says so."""

import pytest

INVENTORY = "WEB = ['127.0.0.2', '127.0.0.3', '127.0.0.4']\n"


def callback_deploy(tmp_path) -> dict:
    return {
        "inventories/production.py": INVENTORY,
        "config.py": f"""
            from pyinfra import hook

            @hook.after_deploy
            def finished(data, state):
                with open('{tmp_path}/after_deploy', 'w') as handle:
                    handle.write('fired')
        """,
        "deploy.py": f"""
            from pyinfra.modules import python, server

            def my_callback(state, host, path):
                if host.name == '127.0.0.3':
                    raise ValueError('bad thing')
                if host.name == '127.0.0.4':
                    {{}}['missing-key']
                with open(path, 'w') as handle:
                    handle.write('called')

            server.shell('touch {tmp_path}/before-{{{{ host.name }}}}')
            python.execute(my_callback, '{tmp_path}/called-{{{{ host.name }}}}')
            server.shell('touch {tmp_path}/after-{{{{ host.name }}}}')
        """,
    }


@pytest.mark.parametrize("mode", [(), ("--serial",), ("--no-wait",)], ids=["parallel", "serial", "no-wait"])
def test_a_raising_callback_fails_only_its_host(pyinfra, deploy_dir, tmp_path, mode):
    root = deploy_dir(callback_deploy(tmp_path))
    result = pyinfra("inventories/production.py", "deploy.py", "-v", *mode, cwd=root)
    assert result.returncode == 1, result.output
    assert "Traceback" not in result.output
    # Every host ran what came before; the healthy one went on to the end.
    for name in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        assert (tmp_path / f"before-{name}").exists()
    assert (tmp_path / "called-127.0.0.2").read_text() == "called"
    assert (tmp_path / "after-127.0.0.2").exists()
    assert not (tmp_path / "after-127.0.0.3").exists()
    assert not (tmp_path / "after-127.0.0.4").exists()
    # The failing hosts say what the callback raised, in one line each.
    assert "[127.0.0.3] Failed: Python/Execute" in result.stdout, result.stdout
    assert "python my_callback(...): ValueError: bad thing" in result.stdout
    assert "python my_callback(...): KeyError: 'missing-key'" in result.stdout
    assert "[127.0.0.2] Successful: 3/3 operations" in result.stdout
    assert "1 host(s) succeeded, 2 failed" in result.stdout
    assert (tmp_path / "after_deploy").read_text() == "fired"


def test_debug_adds_the_callbacks_traceback(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(callback_deploy(tmp_path))
    result = pyinfra("inventories/production.py", "deploy.py", "--debug", cwd=root)
    assert result.returncode == 1, result.output
    assert "Traceback" in result.stderr
    assert "raise ValueError('bad thing')" in result.stderr
    assert (tmp_path / "after-127.0.0.2").exists()
    assert (tmp_path / "after_deploy").read_text() == "fired"


def test_a_callback_raising_a_pyinfra_error_says_only_its_message(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "deploy.py": """
            from pyinfra.api import OperationError
            from pyinfra.modules import python

            def check(state, host):
                raise OperationError('the release is not tagged')

            python.execute(check)
        """,
        }
    )
    result = pyinfra("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode == 1, result.output
    failed = "[127.0.0.2] Failed: Python/Execute ('pyinfra_user_deploy.check'): python check(...): "
    assert failed + "the release is not tagged\n" in result.stdout, result.stdout
    assert "Traceback" not in result.output


def test_a_raising_after_deploy_hook_still_shows_the_results(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra import hook
            from pyinfra.modules import server

            @hook.after_deploy
            def notify(data, state):
                raise RuntimeError('chat server down')

            server.shell('touch {tmp_path}/done')
            """,
        }
    )
    result = pyinfra("127.0.0.2", "deploy.py", "-v", cwd=root)
    assert result.returncode == 1, result.output
    assert "Successful: 1/1 operations, 1 changed" in result.output, result.output
    assert "chat server down" in result.output and "Traceback" not in result.output
    assert (tmp_path / "done").exists()
