"""Upload planning: which uploads travel inside the shell, and that their script writes
exactly the bytes given."""

import subprocess

from pyinfra.api.connectors.ssh.upload import SHELL_UPLOAD_MAX, shell_upload_step


def test_a_small_upload_written_by_its_shell_step_is_exact(tmp_path):
    content = bytes(range(256)) * 4 + b"\nno newline at the end"
    dest = tmp_path / "it's a file"
    script, label, timeout = shell_upload_step(content, str(dest))
    assert label == f"upload to {dest}" and timeout is None
    done = subprocess.run(["sh", "-c", script], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert dest.read_bytes() == content


def test_a_file_too_large_or_unreadable_is_left_to_the_streamed_upload(tmp_path):
    small, large = tmp_path / "small", tmp_path / "large"
    small.write_bytes(b"x" * SHELL_UPLOAD_MAX)
    large.write_bytes(b"x" * (SHELL_UPLOAD_MAX + 1))
    assert shell_upload_step(str(small), "/tmp/dest") is not None
    assert shell_upload_step(str(large), "/tmp/dest") is None
    assert shell_upload_step(str(tmp_path / "missing"), "/tmp/dest") is None
