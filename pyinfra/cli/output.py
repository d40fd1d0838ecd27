"""What the user sees: phases, proposed changes, results. Colours when on a terminal;
a progress line on stderr while work is under way, only when stderr is a terminal."""

from __future__ import annotations

import logging
import os
import shutil
import sys

import click

from pyinfra.api.runner import Events
from pyinfra.api.secrets import mask_text

CLEAR_LINE = "\r\x1b[K"


def use_colour(stream) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR")


class Printer(Events):
    def __init__(self, verbose: int = 0, machine: bool = False):
        self.verbose = verbose
        # machine: stdout carries one JSON document, so everything else goes to stderr
        self.to_stderr = machine
        self.colour = use_colour(sys.stderr if machine else sys.stdout)
        self.err_colour = use_colour(sys.stderr)
        self.show_progress = sys.stderr.isatty()
        self._progress_shown = False
        self._op_progress = ("", 0, 0)
        # Set on Ctrl-C: results still arriving from stopped hosts are not shown.
        self.silenced = False

    def mask(self, text: str) -> str:
        """Every line shown passes here: secret values become *** (api/secrets.py)."""
        return mask_text(text)

    def echo(self, text: str, err: bool | None = None) -> None:
        text = self.mask(text)
        if self._progress_shown:
            sys.stderr.write(CLEAR_LINE)
            self._progress_shown = False
        click.echo(text, err=self.to_stderr if err is None else err)

    def progress(self, text: str) -> None:
        """A transient status line: which phase, how many hosts are done."""
        if not self.show_progress:
            return
        columns = shutil.get_terminal_size((80, 20)).columns
        sys.stderr.write(CLEAR_LINE + self.mask(text)[: columns - 1])
        sys.stderr.flush()
        self._progress_shown = True

    def done_progress(self) -> None:
        if self._progress_shown:
            sys.stderr.write(CLEAR_LINE)
            sys.stderr.flush()
            self._progress_shown = False

    def style(self, text: str, colour: str | None = None, bold: bool = False) -> str:
        if not self.colour:
            return text
        return click.style(text, fg=colour, bold=bold)

    def phase(self, text: str) -> None:
        self.echo(self.style("--> ", "blue", bold=True) + self.style(text, bold=True))

    def line(self, text: str = "") -> None:
        self.echo(text)

    def host_line(self, host, text: str, colour: str | None = None) -> None:
        self.echo(f"    [{self.style(host.name, bold=True)}] {self.style(text, colour)}")

    def host_detail(self, text: str | None) -> None:
        for line in (text or "").splitlines():
            self.echo(f"        {line}")

    def error(self, text: str) -> None:
        prefix = click.style("error:", fg="red", bold=True) if self.err_colour else "error:"
        self.echo(f"{prefix} {text}", err=True)

    def remote_output(self, host, stream: str, line: str) -> None:
        label = self.style(host.name, bold=True)
        self.echo(f"    [{label}] {line}", err=self.to_stderr or stream == "stderr")

    # -- runner events --------------------------------------------------------------

    def hosts_progress(self, phase: str, done: int, total: int) -> None:
        self.progress(f"[{phase}] {done}/{total} hosts done")

    def operation_start(self, meta, hosts) -> None:
        if self.silenced:
            return
        self.phase(f"Starting operation: {meta.name}")
        self._op_progress = (meta.name, 0, len(hosts))
        self.progress(f"[run] {meta.name}: 0/{len(hosts)} hosts done")

    def host_operation_done(self, host, meta, op) -> None:
        if self.silenced:
            return
        if op.status == "success":
            retried = f", succeeded on retry {op.attempts - 1}" if op.attempts > 1 else ""
            if op.changed:
                self.host_line(host, "Success (changed)" + retried, "green")
            else:
                self.host_line(host, "No change" + retried, "cyan")
        elif op.status == "ignored":
            self.host_line(host, "Error (ignored)", "yellow")
            self.host_detail(op.error)
        elif op.status == "error":
            self.host_line(host, "Error", "red")
            self.host_detail(op.error)
        name, done, total = self._op_progress
        self._op_progress = (name, done + 1, total)
        self.progress(f"[run] {name}: {done + 1}/{total} hosts done")


class ErrorLogHandler(logging.Handler):
    """Engine log messages (warnings, debug with --debug) go to stderr, masked."""

    def __init__(self, printer: Printer):
        super().__init__()
        self.printer = printer

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            return  # errors reach the user through the results, once
        self.printer.echo(f"{record.levelname.lower()}: {record.getMessage()}", err=True)
