"""Running a command for the bench: wall time, exit code, output and peak RSS."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

GNU_TIME = "/usr/bin/time"


class Result:
    def __init__(self, argv, cwd, seconds, returncode, output, peak_kb):
        self.argv = argv
        self.cwd = cwd
        self.seconds = seconds
        self.returncode = returncode
        self.output = output
        self.peak_kb = peak_kb

    @property
    def ok(self):
        return self.returncode == 0


def _gnu_time_works():
    if not os.access(GNU_TIME, os.X_OK):
        return False
    with tempfile.NamedTemporaryFile("r") as out:
        proc = subprocess.run(
            [GNU_TIME, "-f", "%M", "-o", out.name, "true"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return proc.returncode == 0 and out.read().strip().isdigit()


_HAVE_GNU_TIME = None


def have_gnu_time():
    global _HAVE_GNU_TIME
    if _HAVE_GNU_TIME is None:
        _HAVE_GNU_TIME = _gnu_time_works()
    return _HAVE_GNU_TIME


def _vm_hwm_kb(pid):
    try:
        with open("/proc/{}/status".format(pid)) as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def run(argv, cwd=None, env=None, timeout=None):
    """Run ``argv`` to its end; output (stdout and stderr together) goes to a temp file
    so that a chatty command never blocks on a pipe. Peak RSS comes from GNU time's
    ``%M`` when available, else from polling ``VmHWM`` in /proc while it runs."""
    with tempfile.TemporaryDirectory(prefix="pyinfra-bench-run-") as scratch:
        log_path = os.path.join(scratch, "output")
        rss_path = os.path.join(scratch, "rss")
        use_time = have_gnu_time()
        full = [GNU_TIME, "-f", "%M", "-o", rss_path, *argv] if use_time else list(argv)
        peak = None
        with open(log_path, "wb") as log:
            start = time.monotonic()
            proc = subprocess.Popen(
                full, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                if use_time:
                    try:
                        returncode = proc.wait(timeout)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        returncode = proc.wait()
                else:
                    deadline = None if timeout is None else start + timeout
                    while proc.poll() is None:
                        value = _vm_hwm_kb(proc.pid)
                        if value is not None:
                            peak = max(peak or 0, value)
                        if deadline is not None and time.monotonic() > deadline:
                            proc.kill()
                        time.sleep(0.02)
                    returncode = proc.returncode
            except BaseException:
                # Interrupted (Ctrl-C, SIGTERM): do not leave the command running.
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(5)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                raise
            seconds = time.monotonic() - start
        with open(log_path, "rb") as handle:
            output = handle.read().decode("utf-8", errors="replace")
        if use_time:
            try:
                with open(rss_path) as handle:
                    # GNU time writes "Command exited with non-zero status N" first then.
                    peak = int(handle.read().split()[-1])
            except (OSError, ValueError, IndexError):
                peak = None
        return Result(list(argv), cwd, seconds, returncode, output, peak)


def pyinfra_command():
    """How to start this project's pyinfra: the entry point beside the running
    interpreter (no pyenv shim in between), else the one on PATH, else ``-m``."""
    beside = os.path.join(os.path.dirname(sys.executable), "pyinfra")
    if os.access(beside, os.X_OK):
        return [beside]
    found = shutil.which("pyinfra")
    if found:
        return [found]
    return [sys.executable, "-m", "pyinfra"]
