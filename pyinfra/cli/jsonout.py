"""--json: what a deploy, --dry or --run did, as one JSON document on stdout (the
shape is in docs/cli.md). Progress goes to stderr meanwhile (Printer(machine=True))."""

from __future__ import annotations

from typing import Any

from pyinfra.api.exceptions import UsageError
from pyinfra.api.secrets import mask_shown
from pyinfra.api.state import HostOperation, State, Status
from pyinfra.cli.output import echo_json

# Statuses after which a host has nothing left to do for the operation: it ran, its
# error was ignored, or run_once ran it on another host.
FINISHED = (Status.SUCCESS, Status.IGNORED, Status.SKIPPED)


class Results:
    """Handed the run's State as soon as it exists (Options.on_state), it writes the
    document once the run is over, however it ended."""

    def __init__(self) -> None:
        self.state: State | None = None

    def watch(self, state: State) -> None:
        self.state = state

    def emit(self, error: BaseException | str | None) -> None:
        """Print the document; `error` is what stopped the run, if anything did. A
        usage error (exit code 2) prints none: the command line was wrong, nothing ran."""
        if self.state is None or isinstance(error, UsageError):
            return
        echo_json(mask_shown(document(self.state, str(error) if error else None)))


def operation(op: HostOperation, name: str, dry: bool) -> dict[str, Any]:
    """One operation on one host. In a dry run, `changed` is the prediction and
    `success` says whether its commands could be made."""
    if dry:
        changed = bool(op.commands)
        success = op.error is None
    else:
        changed = op.status == Status.SUCCESS and op.changed
        success = op.status in (Status.SUCCESS, Status.SKIPPED)
    return {
        "name": name,
        "changed": changed,
        "success": success,
        "error": op.error,
        "commands": [str(command) for command in op.commands],
        "stdout": [line for result in op.results for line in result.stdout],
        "stderr": [line for result in op.results for line in result.stderr],
        "attempts": op.attempts,
    }


def host_error(state: State, host, ops: list[HostOperation], stopped: str | None) -> str | None:
    """Why the host may not be in the state the deploy describes (None: it is)."""
    result = state.results[host]
    if result.failed:
        return result.error or "failed"
    finished = all(op.status in FINISHED for op in ops)
    if stopped is None:
        if state.dry_run or finished:
            return None
        return "the run stopped before all of its operations ran"
    # Stopped early: only a host that ran every operation before it (an after_deploy
    # hook failed) is known to be done; a dry run is stopped before its plan is whole.
    if not state.dry_run and ops and finished:
        return None
    return f"the run stopped: {stopped}"


def document(state: State, error: str | None = None) -> dict[str, Any]:
    """{"hosts": {name: {success, error, operations}}, "operations": [{name, hosts,
    changed_hosts}], "error": ...} for the targeted hosts, operations in run order.
    `error`: what stopped the run early (a hook, a deploy file's error, FAIL_PERCENT,
    Ctrl-C), if anything did."""
    dry = state.dry_run
    stopped = error or state.stopped
    hosts: dict[str, Any] = {}
    for host in state.targets:
        pairs = state.ops_for_host(host)
        reason = host_error(state, host, [op for _, op in pairs], stopped)
        hosts[host.name] = {
            "success": reason is None,
            "error": reason,
            "operations": [operation(op, meta.name, dry) for meta, op in pairs],
        }
    operations = []
    for key in state.op_order:
        meta = state.op_meta[key]
        names, changed = [], []
        for host in state.targets:
            op = state.host_ops[host].get(key)
            if op is None:
                continue
            names.append(host.name)
            if operation(op, meta.name, dry)["changed"]:
                changed.append(host.name)
        operations.append({"name": meta.name, "hosts": names, "changed_hosts": changed})
    return {"hosts": hosts, "operations": operations, "error": stopped}
