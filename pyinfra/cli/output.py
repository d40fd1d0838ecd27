"""What the user sees: phases, proposed changes, results. Colours when on a terminal."""

from __future__ import annotations

import logging
import os
import sys

import click

from pyinfra.api.runner import Events


def use_colour(stream) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR")


class Printer(Events):
    def __init__(self, verbose: int = 0, machine: bool = False):
        self.verbose = verbose
        # machine: stdout carries one JSON document, so everything else goes to stderr
        self.to_stderr = machine
        self.colour = use_colour(sys.stderr if machine else sys.stdout)
        self.err_colour = use_colour(sys.stderr)

    def style(self, text: str, colour: str | None = None, bold: bool = False) -> str:
        if not self.colour:
            return text
        return click.style(text, fg=colour, bold=bold)

    def phase(self, text: str) -> None:
        click.echo(self.style("--> ", "blue", bold=True) + self.style(text, bold=True), err=self.to_stderr)

    def line(self, text: str = "") -> None:
        click.echo(text, err=self.to_stderr)

    def host_line(self, host, text: str, colour: str | None = None) -> None:
        click.echo(f"    [{self.style(host.name, bold=True)}] {self.style(text, colour)}", err=self.to_stderr)

    def error(self, text: str) -> None:
        prefix = click.style("error:", fg="red", bold=True) if self.err_colour else "error:"
        click.echo(f"{prefix} {text}", err=True)

    # -- runner events --------------------------------------------------------------

    def operation_start(self, meta, hosts) -> None:
        self.phase(f"Starting operation: {meta.name}")

    def host_operation_done(self, host, meta, op) -> None:
        if op.status == "success":
            if op.changed:
                self.host_line(host, "Success (changed)", "green")
            else:
                self.host_line(host, "No change", "cyan")
        elif op.status == "ignored":
            self.host_line(host, "Error (ignored)", "yellow")
            self.host_detail(op.error)
        elif op.status == "error":
            self.host_line(host, "Error", "red")
            self.host_detail(op.error)

    def host_detail(self, text: str | None) -> None:
        for line in (text or "").splitlines():
            click.echo(f"        {line}", err=self.to_stderr)

    def remote_output(self, host, stream: str, line: str) -> None:
        label = self.style(host.name, bold=True)
        click.echo(f"    [{label}] {line}", err=self.to_stderr or stream == "stderr")


class ErrorLogHandler(logging.Handler):
    """Engine log messages (warnings, debug with --debug) go to stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            return  # errors reach the user through the results, once
        click.echo(f"{record.levelname.lower()}: {record.getMessage()}", err=True)
