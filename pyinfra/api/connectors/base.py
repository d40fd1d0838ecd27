"""The narrow interface every connector implements."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import IO, Callable, NamedTuple

import gevent

from pyinfra.api.command import LOGIN, FileUploadCommand, RunAs

logger = logging.getLogger("pyinfra")
OutputCallback = Callable[[str, str], None]

# At most this much of a command's output is kept per stream (its last lines); the
# rest is shown when asked (-v) and dropped, so a command printing gigabytes cannot
# exhaust the controller's memory. Longer lines are cut into pieces of MAX_LINE.
MAX_KEPT_CHARS = 8 * 1024 * 1024
MAX_LINE = 64 * 1024
# A kept line costs its text and about this much more (a str object and its list
# slot, in CPython): a flood of short lines (`yes`) is bounded by MAX_KEPT_BYTES, well
# before it reaches MAX_KEPT_CHARS. A million lines of `seq` fit in both.
LINE_OVERHEAD = 56
MAX_KEPT_BYTES = 64 * 1024 * 1024

# Seconds allowed beyond a command's own timeout before the controller gives up on it
# (the command itself is stopped on the host by `timeout`, see wrap_command).
GRACE = 5

# A command's shell writes "PID_MARKER <pid>" on stderr as it starts (reporting_pid), so
# that Ctrl-C can stop it on the host. Unique to this process: no command's own output
# is taken for it.
PID_MARKER = f"__pyinfra_pid_{uuid.uuid4().hex}"
PID_PREFIX = (PID_MARKER + " ").encode()


def reporting_pid(command: str) -> str:
    """`command`, first telling its shell's pid on stderr. It costs no process: `echo`
    is built into the shell that runs the command anyway."""
    return f'echo {PID_MARKER} "$$" >&2\n{command}'


def parse_pid_line(raw: bytes) -> int | None:
    """The pid a PID_MARKER line reports; None for any other line."""
    if not raw.startswith(PID_PREFIX):
        return None
    try:
        return int(raw[len(PID_PREFIX) :])
    except ValueError:
        return None


# After Ctrl-C, seconds a command's processes have between TERM and KILL.
KILL_GRACE = 2


class ShellStep(NamedTuple):
    """What Ctrl-C stops in a long-lived shell (the SSH connector's): the children of
    the shell, whichever step they are; a step that starts later is stopped in turn."""

    shell: int  # the shell's pid
    step: int


def kill_tree_script(pid: int, grace: float = KILL_GRACE, keep_root: bool = False) -> str:
    """Shell code that stops process `pid` and all its descendants, whatever process
    group they made (`timeout` makes its own), but nothing an earlier command left
    running or that detached itself on purpose. Run as the command's user (sudo/su). The tree gets TERM
    (a process it starts meanwhile, too) and what is left of it after `grace` seconds
    gets KILL. It is not frozen (STOP) first: sudo stops itself when its command stops,
    and would then never end.

    With `keep_root`, `pid` itself is spared (a shell whose children are the commands).

    Parents are read from /proc with shell builtins only. Without /proc, `pid` and its
    children (pkill -P) are what can be stopped; with `keep_root`, its children and
    theirs."""
    ticks = max(1, round(grace * 10))
    seconds = max(1, round(grace))
    if keep_root:
        without_proc = f"""  for c in $(pgrep -P $p 2>/dev/null); do
    pkill -TERM -P $c 2>/dev/null; kill -TERM $c 2>/dev/null
  done
  sleep {seconds}
  for c in $(pgrep -P $p 2>/dev/null); do
    pkill -KILL -P $c 2>/dev/null; kill -KILL $c 2>/dev/null
  done"""
    else:
        without_proc = f"""  pkill -TERM -P $p 2>/dev/null; kill -TERM $p 2>/dev/null || exit 0
  sleep {seconds}
  pkill -KILL -P $p 2>/dev/null; kill -KILL $p 2>/dev/null"""
    return f"""p={int(pid)}
keep={int(pid) if keep_root else 0}
[ "$p" -gt 1 ] 2>/dev/null || exit 0
if ! [ -r /proc/$p/stat ]; then
{without_proc}
  exit 0
fi
tree=" $p "
grow() {{
  pairs=
  for d in /proc/[0-9]*; do
    read -r s 2>/dev/null <"$d/stat" || continue
    s=${{s##*) }}; set -- $s
    [ "$1" = Z ] || pairs="$pairs ${{d#/proc/}}:$2"
  done
  more=1
  while [ $more = 1 ]; do
    more=0
    for pair in $pairs; do
      case $tree in *" ${{pair%:*}} "*) continue ;; esac
      case $tree in *" ${{pair#*:}} "*) tree="$tree${{pair%:*}} "; more=1 ;; esac
    done
  done
  alive=
  for pair in $pairs; do
    [ "${{pair%:*}}" = "$keep" ] && continue
    case $tree in *" ${{pair%:*}} "*) alive="$alive ${{pair%:*}}" ;; esac
  done
}}
grow
[ -n "$alive" ] || exit 0
kill -TERM $alive 2>/dev/null
termed="$alive "
n=0
while [ $n -lt {ticks} ]; do
  sleep 0.1 2>/dev/null || {{ sleep 1; n=$((n + 9)); }}
  n=$((n + 1))
  grow
  [ -n "$alive" ] || exit 0
  for q in $alive; do
    case "$termed" in *" $q "*) ;; *) kill -TERM $q 2>/dev/null; termed="$termed$q " ;; esac
  done
done
kill -KILL $alive 2>/dev/null
exit 0"""


@dataclass
class CommandResult:
    """What one command did: its exit status and output (decoded, lines)."""

    command: str
    exit_code: int
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def describe(self, max_lines: int = 20) -> str:
        """A failure as a person reads it: command, exit status, last output."""
        if self.timed_out:
            status = "timed out"
        else:
            status = f"exit status {self.exit_code}"
        lines = [f"command failed ({status}): {self.command}"]
        output = self.stderr + self.stdout if self.stderr else self.stdout
        if output:
            shown = output[-max_lines:]
            if len(output) > max_lines:
                lines.append(f"  ... {len(output) - max_lines} more line(s)")
            lines.extend(f"  {line}" for line in shown)
        return "\n".join(lines)


class OutputLines(list):
    """The lines of one output stream, keeping a bounded tail; `dropped` counts the
    lines let go."""

    def __init__(self):
        super().__init__()
        self.chars = 0
        self.dropped = 0

    def add(self, line: str) -> None:
        self.append(line)
        self.chars += len(line) + 1
        if (self.chars > MAX_KEPT_CHARS or self.chars + len(self) * LINE_OVERHEAD > MAX_KEPT_BYTES) and (
            len(self) > 1
        ):
            # Drop a quarter at a time: one slice deletion instead of one per line.
            count, freed = 0, 0
            chars, lines = self.chars, len(self)
            while count < lines - 1 and (
                chars - freed > MAX_KEPT_CHARS * 3 // 4
                or chars - freed + (lines - count) * LINE_OVERHEAD > MAX_KEPT_BYTES * 3 // 4
            ):
                freed += len(self[count]) + 1
                count += 1
            del self[:count]
            self.chars -= freed
            self.dropped += count


def decode(raw: bytes) -> str:
    """A line of output as text: bytes that are not UTF-8 (a latin-1 file name, a
    binary file) kept as surrogate escapes, so `line.encode("utf-8", "surrogateescape")`
    is what the host sent, and a name a fact read is the same name in a command (sent
    encoded that way). The CLI shows such a byte as \\xNN; JSON output as U+FFFD."""
    return raw.decode("utf-8", errors="surrogateescape").removesuffix("\n")


def read_lines(
    stream: IO[bytes],
    kept: OutputLines,
    name: str,
    on_output: OutputCallback | None,
    on_pid: Callable[[int], None] | None = None,
):
    """Read a byte stream to its end, decoded (decode()), keeping a bounded tail.
    With `on_pid`, a PID_MARKER line is passed there instead (the first one only)."""
    while True:
        raw = stream.readline(MAX_LINE)
        if not raw:
            return
        if on_pid is not None:
            pid = parse_pid_line(raw)
            if pid is not None:
                on_pid(pid)
                on_pid = None
                continue
        line = decode(raw)
        if on_output:
            on_output(name, line)
        kept.add(line)


def start_reader(stream: IO[bytes], kept: list[str], name: str, on_output, on_pid=None) -> threading.Thread:
    # A thread (a greenlet once the CLI has patched) so stdout and stderr drain
    # together: reading one to its end first could stall on the other's full window.
    thread = threading.Thread(target=read_lines, args=(stream, kept, name, on_output, on_pid))
    thread.daemon = True
    thread.start()
    return thread


class Connector(ABC):
    """connect, run a shell command, put a file, get a file, close."""

    def __init__(self, host, config, on_output: Callable | None = None):
        self.host = host
        self.config = config
        self.on_output = on_output
        # Set while facts are read and their output is not for the user (below -vv).
        self.quiet = False
        self.connected = False
        # Set by interrupt(): no new command starts.
        self.interrupted = False

    @abstractmethod
    def connect(self) -> None:
        """One attempt; ConnectError (Unreachable: worth another) when it fails."""

    def connect_retries(self) -> int:
        """How many more attempts a host that does not answer is worth (connect.py
        makes them, between others' handshakes)."""
        return 0

    def prepare(self) -> None:
        """Called right after connect() when nothing else waits to connect: get ready
        for the first command (the SSH connector opens its shell). Raises ConnectError."""

    @abstractmethod
    def run_shell_command(
        self, command: str, run_as: RunAs = LOGIN, stdin: bytes | None = None
    ) -> CommandResult:
        """Run `command` (shell text) as `run_as` says, `stdin` sent to it."""

    @abstractmethod
    def put_file(self, src: str | bytes, dest: str, run_as: RunAs = LOGIN) -> CommandResult:
        """Write `src` (a local path, or bytes) to a new file `dest`, as `run_as`'s user."""

    def get_file(self, src: str, dest: str, run_as: RunAs = LOGIN) -> CommandResult:
        """Copy the host's file `src` to a new local file `dest` (moved over it once
        whole), read as `run_as`'s user. The shell connectors' way is in download.py."""
        return CommandResult(f"download {src} -> {dest}", 1, [], [f"{type(self).__name__} cannot get files"])

    def run_commands(self, commands: list, run_as: RunAs = LOGIN) -> list[CommandResult]:
        """Run shell commands and uploads (StringCommand, FileUploadCommand) in order,
        stopping at the first that fails: the results end with that one. A connector
        may send them together (the SSH shell does); this one runs them one by one."""
        results = []
        for command in commands:
            if isinstance(command, FileUploadCommand):
                result = self.put_file(command.src, command.dest, run_as)
            else:
                result = self.run_shell_command(command.command, run_as)
            results.append(result)
            if not result.ok:
                break
        return results

    def close(self) -> None:
        self.connected = False

    def reconnect(self) -> None:
        """Close the connection and open a new one (after the host rebooted, say:
        server.reboot). Raises ConnectError while the host does not answer. For @local
        nothing changes."""
        self.close()
        self.connect()

    def interrupt(self, timeout: float | None = None) -> None:
        """Ctrl-C: from now on no command starts, and the commands in flight are stopped
        on the host, each with its whole process tree (TERM, then KILL KILL_GRACE
        seconds later), as the user they run as. Returns when they have ended, or after
        `timeout` seconds (default TIMEOUT)."""
        self.interrupted = True
        deadline = time.monotonic() + (self.config.TIMEOUT if timeout is None else timeout)
        killed: set = set()
        kills = []
        while True:
            running = self.running()
            for identity, target in running:
                # A command whose pid has not arrived yet is waited for; one that
                # starts after a kill (the next in a batch) is stopped in turn.
                pid = target.shell if isinstance(target, ShellStep) else target
                if pid is not None and pid > 1 and (identity, target) not in killed:
                    killed.add((identity, target))
                    kills.append(gevent.spawn(self._stop_quietly, identity, target))
            if not running or time.monotonic() >= deadline:
                break
            gevent.sleep(0.05)
        gevent.joinall(kills, timeout=max(0.0, deadline - time.monotonic()))

    def running(self) -> list[tuple[tuple, int | ShellStep | None]]:
        """(identity, target) of the commands in flight: a pid, None until reported, or
        a ShellStep. identity is (sudo, sudo_user, su_user)."""
        return []

    def stop_tree(self, identity: tuple, target: int | ShellStep) -> None:
        """Stop process `target` and its descendants (kill_tree_script), or a shell's
        children, as `identity`."""

    def _stop_quietly(self, identity: tuple, target) -> None:
        try:
            self.stop_tree(identity, target)
        except Exception as error:  # the connection may be going away as well
            logger.debug("[%s] stopping process %s: %s", self.host.name, target, error)

    def output_callback(self) -> OutputCallback | None:
        if self.on_output is None or self.quiet:
            return None
        host = self.host

        def callback(stream: str, line: str) -> None:
            self.on_output(host, stream, line)

        return callback
