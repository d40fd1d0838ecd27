"""Running a command for the bench: wall time, exit code, output, peak RSS and CPU."""

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

GNU_TIME = "/usr/bin/time"


class Result:
    def __init__(self, argv, cwd, seconds, returncode, output, peak_kb, cpu_seconds=None):
        self.argv = argv
        self.cwd = cwd
        self.seconds = seconds
        self.returncode = returncode
        self.output = output
        self.peak_kb = peak_kb
        # User + system CPU of the command and what it waited for (not of the
        # processes serving it, such as sshd).
        self.cpu_seconds = cpu_seconds

    @property
    def ok(self):
        return self.returncode == 0


def _gnu_time_works():
    if not os.access(GNU_TIME, os.X_OK):
        return False
    with tempfile.NamedTemporaryFile("r") as out:
        proc = subprocess.run(
            [GNU_TIME, "-f", TIME_FORMAT, "-o", out.name, "true"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return proc.returncode == 0 and parse_time_output(out.read()) is not None


# Peak RSS (kB), user and system CPU seconds.
TIME_FORMAT = "%M %U %S"


def parse_time_output(text):
    """(peak kB, user + system CPU seconds) from GNU time's TIME_FORMAT line, which is
    the last line (a "Command exited with non-zero status N" line may come first); None
    when it is not there."""
    lines = text.strip().splitlines()
    fields = lines[-1].split() if lines else []
    if len(fields) != 3:
        return None
    try:
        return int(fields[0]), float(fields[1]) + float(fields[2])
    except ValueError:
        return None


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
    ``%M`` when available, else from polling ``VmHWM`` in /proc while it runs; CPU
    (user + system) from GNU time's ``%U %S``, else from this process's children's
    rusage (the bench runs one command at a time)."""
    with tempfile.TemporaryDirectory(prefix="pyinfra-bench-run-") as scratch:
        log_path = os.path.join(scratch, "output")
        rss_path = os.path.join(scratch, "rss")
        use_time = have_gnu_time()
        full = [GNU_TIME, "-f", TIME_FORMAT, "-o", rss_path, *argv] if use_time else list(argv)
        peak = None
        cpu_before = _children_cpu()
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
        cpu = _children_cpu() - cpu_before
        with open(log_path, "rb") as handle:
            output = handle.read().decode("utf-8", errors="replace")
        if use_time:
            try:
                with open(rss_path) as handle:
                    parsed = parse_time_output(handle.read())
            except OSError:
                parsed = None
            peak, cpu = parsed if parsed else (None, cpu)
        return Result(list(argv), cwd, seconds, returncode, output, peak, cpu)


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
