"""Ctrl-C's stopping of commands on a host (connectors/base.py): the kill script run
here against real processes, and the interrupt loop's choice of what to stop."""

import os
import subprocess
import time
from types import SimpleNamespace

from pyinfra.api.connectors.base import Connector, ShellStep, kill_tree_script


def children_of(pid):
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(name))
    return found


def wait_until(check, seconds=10):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)


def test_keep_root_stops_a_shells_children_and_their_children_but_not_the_shell():
    # A long-lived shell (as the SSH connector keeps one) running a step that has a
    # child of its own.
    shell = subprocess.Popen(["sh"], stdin=subprocess.PIPE, text=True)
    try:
        shell.stdin.write("sh -c 'sleep 301 & sleep 302; true'\n")
        shell.stdin.flush()
        wait_until(lambda: len(children_of(shell.pid)) == 1)
        (step,) = children_of(shell.pid)
        wait_until(lambda: len(children_of(step)) == 2)
        grandchildren = children_of(step)
        subprocess.run(["sh", "-c", kill_tree_script(shell.pid, grace=0.5, keep_root=True)], check=True)
        assert shell.poll() is None  # the shell goes on
        assert children_of(shell.pid) == []
        for pid in [step, *grandchildren]:
            assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
        # ... and still runs what it is given next.
        shell.stdin.write("exit 7\n")
        shell.stdin.flush()
        assert shell.wait(timeout=10) == 7
    finally:
        if shell.poll() is None:
            shell.kill()


def test_without_keep_root_the_process_itself_is_stopped():
    process = subprocess.Popen(["sh", "-c", "sleep 303; true"])
    try:
        wait_until(lambda: len(children_of(process.pid)) == 1)
        subprocess.run(["sh", "-c", kill_tree_script(process.pid, grace=0.5)], check=True)
        assert process.wait(timeout=10) != 0
    finally:
        if process.poll() is None:
            process.kill()


class Steps(Connector):
    """A connector whose shell moves from step to step as the interrupt loop looks."""

    def __init__(self, targets):
        super().__init__(SimpleNamespace(name="h"), SimpleNamespace(TIMEOUT=5))
        self.targets = list(targets)
        self.stopped = []

    def connect(self):
        pass

    def run_shell_command(self, command, run_as=None, stdin=None):
        raise NotImplementedError

    def put_file(self, src, dest, run_as=None):
        raise NotImplementedError

    def running(self):
        return [(("login",), self.targets.pop(0))] if self.targets else []

    def stop_tree(self, identity, target):
        self.stopped.append(target)


def test_a_step_the_shell_starts_after_the_stop_is_stopped_in_turn():
    # The shell's pid is not known yet, then step 3 runs, then (still) step 3, then 4.
    connector = Steps([None, ShellStep(40, 3), ShellStep(40, 3), ShellStep(40, 4)])
    connector.interrupt(timeout=5)
    assert connector.stopped == [ShellStep(40, 3), ShellStep(40, 4)]
    assert connector.interrupted
