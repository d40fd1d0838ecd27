"""What importing the command does to the process before any deploy runs."""

import os
import subprocess
import sys
import textwrap


def test_gevent_plugins_installed_beside_us_are_still_called(tmp_path):
    # The command looks gevent's plugins up once instead of once per patched module;
    # an installed plugin must still see the events.
    (tmp_path / "fakeplugin.py").write_text(
        textwrap.dedent(f"""
            def hook(event):
                with open({str(tmp_path / "seen")!r}, "a") as handle:
                    handle.write(type(event).__name__ + "\\n")
        """)
    )
    info = tmp_path / "fakeplugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[gevent.plugins.monkey.will_patch_all]\nfake = fakeplugin:hook\n"
        "[gevent.plugins.monkey.did_patch_module]\nfake = fakeplugin:hook\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    code = "import pyinfra.cli, socket, gevent.socket; assert socket.socket is gevent.socket.socket"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = (tmp_path / "seen").read_text().splitlines()
    assert seen[0] == "GeventWillPatchAllEvent"
    assert seen.count("GeventDidPatchModuleEvent") >= 5  # socket, thread, time, select, ...


def test_paramiko_is_loaded_without_invoke_which_a_deploy_can_still_import():
    # paramiko imports invoke only for its own ssh_config's `Match exec`, which we do
    # not use; invoke and what it pulls in are 40 ms of every run.
    code = textwrap.dedent("""
        import sys
        from pyinfra.api.connectors import load_paramiko
        load_paramiko()
        assert "paramiko" in sys.modules
        assert "invoke" not in sys.modules, "invoke was imported"
        import invoke
        assert invoke.__name__ == "invoke"
        # Every packet's MAC is checked in C (hmac), not a Python loop.
        import hmac, paramiko.util
        assert paramiko.util.constant_time_bytes_eq is hmac.compare_digest
        assert paramiko.util.constant_time_bytes_eq(b"ab", b"ab")
        assert not paramiko.util.constant_time_bytes_eq(b"ab", b"ac")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_what_connecting_does_not_need_is_loaded_later():
    # A run dials its hosts once the inventory is loaded; the SSH library and jinja2
    # (the build's) load while the handshakes wait on the network.
    code = textwrap.dedent("""
        import sys
        import pyinfra.cli
        from pyinfra.modules import files, server
        loaded = sorted(name for name in ("paramiko", "jinja2", "importlib.metadata") if name in sys.modules)
        assert not loaded, loaded
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_command_collects_garbage_less_often_and_the_api_leaves_it_alone():
    # The CLI's heap is mostly kept to the end of the run: fewer collections (a third
    # of the CPU at 1,000 hosts); a program using pyinfra.api keeps its own settings.
    code = textwrap.dedent("""
        import gc, sys
        default = gc.get_threshold()
        import pyinfra.api
        assert gc.get_threshold() == default, gc.get_threshold()
        import pyinfra.cli
        assert gc.get_threshold()[0] == 10_000 and gc.get_threshold()[1:] == default[1:], gc.get_threshold()
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
