"""What the user sees: phases, proposed changes, results. Colours when on a terminal;
a progress line on stderr while work is under way, only when stderr is a terminal.

Every piece of text printed here passes through `shown()`: secrets become ***, and
the characters a terminal acts on instead of showing are written as visible escapes,
so a host cannot retitle the window, rewrite the screen or take a line back over the
host-name prefix. Our own colours are added after that, around text already shown
(`Styled`), so they are the only escape sequences that reach the terminal."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
from typing import Any, Callable, NamedTuple

import click

from pyinfra.api.secrets import MaskedStream, mask_text
from pyinfra.api.state import Events, Status

CLEAR_LINE = "\r\x1b[K"

# What a terminal may act on rather than show: C0 controls but tab and newline, DEL,
# C1 controls, and lone surrogates (bytes of remote output that were not UTF-8, kept
# by surrogateescape decoding: a raw 0x9b byte is CSI to some terminals).
_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff"
# A backslash is doubled only where it would otherwise read as an escape: before
# another backslash, an x, a u, an r, or a character about to be escaped.
_TO_ESCAPE = re.compile(f"[{_CONTROL}]|\\\\(?=[\\\\xur{_CONTROL}])")


def _escape(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    if char == "\\":
        return "\\\\"
    if char == "\r":
        return "\\r"  # the usual one, at the end of CRLF lines
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # the byte the host sent
    if code < 0x80:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` with what a terminal would act on written visibly, reversibly:
    `\\r` is a carriage return, `\\xNN` the byte NN (another C0 control, DEL, or a byte
    that was not UTF-8), `\\uNNNN` the character U+NNNN (a C1 control), `\\\\` a
    backslash; any other backslash is itself. Tab and newline are kept."""
    if not _TO_ESCAPE.search(text):
        return text
    return _TO_ESCAPE.sub(_escape, text)


def shown(text: Any) -> str:
    """What of `text` may reach the screen: secrets masked, then controls escaped."""
    return escape_controls(mask_text(str(text)))


def json_text(value: Any) -> str:
    """`value` as a JSON document for stdout. JSON's own escapes keep controls out
    (ensure_ascii writes every non-ASCII character as \\uNNNN); DEL, which JSON
    allows raw, is written \\u007f as well. JSON carries text: a byte of remote output
    that was not UTF-8 is written U+FFFD (a lone surrogate escape is not valid Unicode,
    and strict parsers refuse it)."""
    return "".join(_json_chunks(value))


def echo_json(value: Any) -> None:
    """json_text(value) and a newline on stdout, written as it is made: a document
    holding millions of lines of output never exists whole in memory (the indenting
    encoder would make it from millions of pieces at once)."""
    stream = sys.stdout
    for chunk in _json_chunks(value):
        stream.write(chunk)
    stream.write("\n")
    stream.flush()


def _json_chunks(value: Any):
    for chunk in json.JSONEncoder(indent=2).iterencode(_unicode(value)):
        yield chunk.replace("\x7f", "\\u007f")


def _unicode(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_unicode(key): _unicode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_unicode(item) for item in value]
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


class Styled(NamedTuple):
    """A piece of a printed line in our colours: its text is shown() first."""

    text: str
    colour: str | None = None
    bold: bool = False

    def __str__(self) -> str:  # in an f-string: the text, uncoloured
        return str(self.text)


def host_names(hosts, limit: int = 10) -> str:
    """`a, b, c` or, past `limit`, `a, ..., j and 490 more`."""
    names = [host.name for host in hosts]
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


class Outcome(NamedTuple):
    """One part of an operation's line: `3 changed`, or with `named`, `1 failed: db-7`."""

    label: str
    hosts: list
    colour: str | None = None
    named: bool = False


class Tally:
    """What one operation did on each host of the run, as its hosts finish."""

    def __init__(self, meta, expected: int | None):
        self.meta = meta
        self.expected = expected
        self.done: list = []  # (host, HostOperation)
        self.shown = False

    def outcomes(self) -> list[Outcome]:
        def hosts(status: str, changed: bool | None = None) -> list:
            return [
                h for h, op in self.done if op.status == status and (changed is None or op.changed == changed)
            ]

        retried = [h for h, op in self.done if op.status == Status.SUCCESS and op.attempts > 1]
        return [
            Outcome("changed", hosts(Status.SUCCESS, True), "green"),
            Outcome("no change", hosts(Status.SUCCESS, False), "cyan"),
            Outcome("succeeded on retry", retried, "yellow", named=True),
            Outcome("error ignored", hosts(Status.IGNORED), "yellow", named=True),
            Outcome("failed", hosts(Status.ERROR), "red", named=True),
            Outcome("lost (outcome unknown)", hosts(Status.LOST), "red", named=True),
        ]


def _as_planned(op) -> bool:
    """The plan showed this outcome already: the operation had nothing to run on the
    host (no change, or a build error ignored), and was not decided when it ran."""
    return not op.dependent and not op.commands and op.status in (Status.SUCCESS, Status.IGNORED)


def use_colour(stream) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR")


class Printer(Events):
    def __init__(self, verbose: int = 0, machine: bool = False):
        self.verbose = verbose
        # machine: stdout carries one JSON document, so everything else goes to stderr
        self.to_stderr = machine
        self.out_colour = use_colour(sys.stdout)
        self.err_colour = use_colour(sys.stderr)
        self.show_progress = sys.stderr.isatty()
        self._progress_shown = False
        self._op_progress = ("", 0, 0)
        # Operation key -> Tally of the hosts done with it.
        self._tallies: dict[str, Tally] = {}
        # Set on Ctrl-C: results still arriving from stopped hosts are not shown.
        self.silenced = False
        # Set when the terminal or pipe went away (SIGHUP, `| head`): nothing more is
        # written, and the run still stops its hosts and exits with its own code.
        self.gone = False

    def render(self, parts, colour: bool) -> str:
        """One line from its pieces: plain text and Styled pieces, each shown(); the
        colours go around text that is already safe."""
        out = []
        for part in parts:
            if isinstance(part, Styled):
                text = shown(part.text)
                if colour and (part.colour or part.bold):
                    text = click.style(text, fg=part.colour, bold=part.bold)
                out.append(text)
            else:
                out.append(shown(part))
        return "".join(out)

    def echo(self, *parts, err: bool | None = None) -> None:
        """Print one line made of `parts` (text and Styled pieces): the one way text
        reaches the terminal, so every piece is masked and its controls escaped."""
        to_stderr = self.to_stderr if err is None else err
        colour = self.err_colour if to_stderr else self.out_colour
        text = self.render(parts, colour)
        self.done_progress()
        # color=: the only escape sequences left are the colours we chose to add.
        self._write(lambda: click.echo(text, err=to_stderr, color=colour))

    def progress(self, text: str) -> None:
        """A transient status line: which phase, how many hosts are done."""
        if not self.show_progress:
            return
        columns = shutil.get_terminal_size((80, 20)).columns
        # One line, or the next clear would leave the rest of it on the screen.
        self._write(lambda: self._stderr(CLEAR_LINE + shown(text.replace("\n", " "))[: columns - 1]))
        self._progress_shown = True

    def done_progress(self) -> None:
        if self._progress_shown:
            self._progress_shown = False
            self._write(lambda: self._stderr(CLEAR_LINE))

    @staticmethod
    def _stderr(text: str) -> None:
        sys.stderr.write(text)
        sys.stderr.flush()

    def _write(self, write: Callable[[], None]) -> None:
        if self.gone:
            return
        try:
            write()
        except OSError:  # EIO from a terminal gone, EPIPE from a reader gone
            self.gone = True

    def style(self, text: str, colour: str | None = None, bold: bool = False) -> Styled:
        """A piece of a line in a colour, for line() and echo()."""
        return Styled(text, colour, bold)

    def phase(self, text: str) -> None:
        self.echo(Styled("--> ", "blue", bold=True), Styled(text, bold=True))

    def line(self, *parts) -> None:
        self.echo(*parts)

    def host_line(self, host, text: str, colour: str | None = None) -> None:
        # Further lines of the text are indented: none can pass for another host's.
        text = str(text).replace("\n", "\n        ")
        self.echo("    [", Styled(host.name, bold=True), "] ", Styled(text, colour))

    def host_detail(self, text: str | None) -> None:
        # Split at newlines only: a carriage return or form feed in the text is
        # shown, not taken as the end of a line.
        for line in (text or "").rstrip("\n").split("\n") if text else ():
            self.echo("        ", line)

    def outcome_line(self, name: str, outcomes: list[Outcome]) -> None:
        """`    NAME: 3 changed, 497 no change, 1 failed: db-7`: an operation across
        hosts in one line; hosts are named where something needs a look."""
        parts: list = ["    ", Styled(name, bold=True), ": "]
        after_names = False
        shown_any = False
        for outcome in outcomes:
            if not outcome.hosts:
                continue
            if shown_any:
                parts.append("; " if after_names else ", ")
            text = f"{len(outcome.hosts)} {outcome.label}"
            if outcome.named:
                text += ": " + host_names(outcome.hosts)
            parts.append(Styled(text, outcome.colour))
            after_names, shown_any = outcome.named, True
        if not shown_any:
            parts.append("no host")
        self.echo(*parts)

    def error(self, text: str) -> None:
        self.echo(Styled("error:", "red", bold=True), " ", text, err=True)

    def remote_output(self, host, stream: str, line: str) -> None:
        if "__pyinfra_fact_" in line:
            return  # the frame of a fact read (absent marker, separators): ours, not the host's
        self.echo("    [", Styled(host.name, bold=True), "] ", line, err=self.to_stderr or stream == "stderr")

    # -- run events -----------------------------------------------------------------

    def hosts_progress(self, phase: str, done: int, total: int) -> None:
        self.progress(f"[{phase}] {done}/{total} hosts done")

    def hosts_connected(self, state) -> None:
        """One line for the hosts that connected (a line each with -v); every host that
        did not, with why."""
        connected = [host for host in state.targets if host.connected]
        if not self.verbose:
            self.line(f"    Connected: {len(connected)}/{len(state.targets)} hosts")
        for host in state.targets:
            if host.connected:
                if self.verbose:
                    self.host_line(host, "Connected", "green")
            else:
                self.host_line(host, "Failed to connect: " + (state.results[host].error or ""), "red")

    def operation_start(self, meta, hosts) -> None:
        if self.silenced:
            return
        if self.verbose:
            self.phase(f"Starting operation: {meta.name}")
        self._tallies[meta.key] = Tally(meta, len(hosts))
        self._op_progress = (meta.name, 0, len(hosts))
        self.progress(f"[run] {meta.name}: 0/{len(hosts)} hosts done")

    def host_operation_done(self, host, meta, op) -> None:
        if self.silenced:
            return
        if self.verbose:
            self.show_host_operation(host, op)
        tally = self._tallies.get(meta.key)
        if tally is None:  # --no-wait: no operation starts for all hosts at once
            tally = self._tallies[meta.key] = Tally(meta, None)
        tally.done.append((host, op))
        if tally.expected is not None and len(tally.done) >= tally.expected:
            self.operation_done(tally)
        name, done, total = self._op_progress
        self._op_progress = (name, done + 1, total)
        self.progress(f"[run] {name}: {done + 1}/{total} hosts done")

    def show_host_operation(self, host, op) -> None:
        """The -v line of one host's outcome (an error's details under it)."""
        if op.status == Status.SUCCESS:
            retried = f", succeeded on retry {op.attempts - 1}" if op.attempts > 1 else ""
            if op.changed:
                self.host_line(host, "Success (changed)" + retried, "green")
            else:
                self.host_line(host, "No change" + retried, "cyan")
        elif op.status == Status.IGNORED:
            self.host_line(host, "Error (ignored)", "yellow")
            self.host_detail(op.error)
        elif op.status == Status.ERROR:
            self.host_line(host, "Error", "red")
            self.host_detail(op.error)
        elif op.status == Status.LOST:
            self.host_line(host, "Connection lost while it ran (outcome unknown)", "red")
            self.host_detail(op.error)

    def operation_done(self, tally: Tally) -> None:
        """The operation's one line across hosts; without -v, each failure in full
        under it (with -v they were shown as they came)."""
        tally.shown = True
        self.done_progress()
        if not self.verbose and all(_as_planned(op) for _, op in tally.done):
            return  # nothing ran: the plan's line said all there is to say
        self.outcome_line(tally.meta.name, tally.outcomes())
        if not self.verbose:
            for host, op in tally.done:
                if op.status in (Status.ERROR, Status.LOST):
                    self.show_host_operation(host, op)

    def run_done(self, order: list[str]) -> None:
        """After the run: the lines of operations whose hosts did not finish together
        (--no-wait), in run order."""
        if self.silenced:
            return
        for key in order:
            tally = self._tallies.get(key)
            if tally is not None and not tally.shown:
                self.operation_done(tally)


class ErrorLogHandler(logging.Handler):
    """Engine log messages (warnings, debug with --debug) go to stderr, masked."""

    def __init__(self, printer: Printer):
        super().__init__()
        self.printer = printer

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            return  # errors reach the user through the results, once
        self.printer.echo(f"{record.levelname.lower()}: {record.getMessage()}", err=True)


def route_logs(printer: Printer, debug: bool) -> None:
    """Send the engine's log records, and paramiko's, through the printer. paramiko
    has no handler of its own: Python's last-resort handler would print its records
    raw on stderr (a host's SSH banner in them, a traceback for a bad one)."""
    for name, level in (
        ("pyinfra", logging.DEBUG if debug else logging.WARNING),
        ("paramiko", logging.WARNING),
    ):
        logger = logging.getLogger(name)
        logger.handlers[:] = [ErrorLogHandler(printer)]
        logger.setLevel(level)
        logger.propagate = False


class ShownStream(MaskedStream):
    """A text stream for writers that do not go through the printer (gevent's report
    of a greenlet's error, with --debug): what they write is shown() too."""

    def write(self, text: str) -> int:
        return self.stream.write(shown(text))
