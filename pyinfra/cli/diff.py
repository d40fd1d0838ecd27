"""`--diff`: the diff of each operation's file changes, under its host's line among the
proposed changes, and, for an operation made again during the run (it depends on an
earlier change), when it is made. The diffs themselves come from pyinfra/api/diff.py;
here they are read in one round trip per host and printed, through the printer (secrets
masked, controls escaped), coloured on a terminal."""

from __future__ import annotations

from pyinfra.api import diff
from pyinfra.api.parallel import map_hosts
from pyinfra.api.state import HostOperation, State
from pyinfra.cli.output import Printer, Styled

STYLES = {
    diff.HEADER: (None, True),
    diff.HUNK: ("cyan", False),
    diff.ADDED: ("green", False),
    diff.REMOVED: ("red", False),
    diff.CONTEXT: (None, False),
    diff.NOTE: ("yellow", False),
}


def planned(op: HostOperation) -> bool:
    """Its changes are known before the run (one made again when it runs is not)."""
    return bool(op.changes) and not op.dependent and op.error is None and bool(op.commands)


def read_before_run(state: State) -> None:
    """Read the current content the proposed changes' diffs need: one round trip per
    host with an existing file whose content changes, none otherwise."""
    hosts = state.active_hosts()

    def read(host) -> None:
        ops = [op for _, op in state.ops_for_host(host) if planned(op)]
        diff.read_contents(state, host, ops)

    map_hosts(state.config.PARALLEL, hosts, read)


def show(printer: Printer, state: State, host, op: HostOperation) -> None:
    """Print the diff of `op`'s changes on `host`, indented under its host line."""
    for kind, text in diff.change_lines(state, host, op):
        colour, bold = STYLES[kind]
        printer.echo("        ", Styled(text, colour, bold))


class DiffEvents:
    """The printer, also showing the diff of an operation made again during the run,
    before its commands run (its current content read in one more round trip)."""

    shows_plans = True

    def __init__(self, printer: Printer, state: State):
        self.printer = printer
        self.state = state

    def __getattr__(self, name: str):
        return getattr(self.printer, name)

    def operation_made(self, host, meta, op: HostOperation) -> None:
        if not op.changes or not op.commands or self.printer.silenced:
            return
        diff.read_contents(self.state, host, [op], again=True)
        self.printer.host_line(host, "planned now (it depends on an earlier change):", "yellow")
        show(self.printer, self.state, host, op)
