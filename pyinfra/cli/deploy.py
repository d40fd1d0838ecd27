"""The deploy pipeline, phase by phase (ARCHITECTURE.md): load, hook, connect, hook,
build, show, hook, run, hook, report."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Callable

import gevent

from pyinfra.api.build import build as build_hosts
from pyinfra.api.exceptions import DeployError, PyinfraError, UsageError
from pyinfra.api.loader import exec_code, user_namespace
from pyinfra.api.operations import run_ops
from pyinfra.api.run import CONNECT_AT_ONCE, disconnect_all, interrupt_all
from pyinfra.api.secrets import register_data
from pyinfra.api.ssh import connect_all
from pyinfra.api.state import State, Status
from pyinfra.cli.diff import DiffEvents
from pyinfra.cli.diff import read_before_run as read_diffs
from pyinfra.cli.diff import show as show_diff
from pyinfra.cli.load import load
from pyinfra.cli.output import Outcome, Printer


@dataclass
class Options:
    inventory: str
    deploys: list[str]
    dry: bool = False
    limit: str | None = None
    serial: bool = False
    no_wait: bool = False
    parallel: int | None = None
    verbose: int = 0
    override: dict = field(default_factory=dict)
    sudo: bool | None = None
    sudo_user: str | None = None
    su_user: str | None = None
    run: str | None = None
    facts: list[str] = field(default_factory=list)
    debug_data: bool = False
    debug_state: bool = False
    retries: int | None = None
    retry_delay: float | None = None
    # --run: hosts' output is shown unless quiet (-q); otherwise only with -v.
    quiet: bool = False
    # Called with the run's State once it exists (--json reads the results from it).
    on_state: Callable[[State], None] | None = None
    diff: bool = False


def limit_hosts(state: State, limit: str | None) -> list:
    """Hosts matching --limit: hostnames or group names, with * wildcards."""
    hosts = list(state.inventory)
    if not limit:
        return hosts
    patterns = [p.strip() for p in limit.split(",") if p.strip()]
    chosen = []
    for host in hosts:
        names = [host.name, *host.groups]
        if any(fnmatch.fnmatch(n, p) for p in patterns for n in names):
            chosen.append(host)
    if not chosen:
        raise UsageError(f"--limit {limit} matches no host of the inventory")
    return chosen


def run_files(host, deploy_files) -> None:
    for path, code in deploy_files:
        exec_code(code, path, user_namespace(path))


def build(state: State, deploy_files, printer: Printer) -> None:
    """Run each deploy file once per connected host, recording its operations."""
    build_hosts(
        state,
        lambda host: run_files(host, deploy_files),
        on_progress=lambda done, total: printer.hosts_progress("build", done, total),
    )


def show_proposed(state: State, printer: Printer, diff: bool = False) -> None:
    """One line per operation with what it would do across hosts; each host's line
    with -v, its commands with -vv; with `diff`, what each change does to files."""
    printer.phase("Proposed changes:")
    if not state.op_order:
        printer.line("    (no operations)")
    for key in state.op_order:
        meta = state.op_meta[key]
        planned = [(host, state.host_ops[host][key]) for host in state.targets if key in state.host_ops[host]]
        change, dependent, ignored, unchanged, failed = [], [], [], [], []
        for host, op in planned:
            if state.results[host].failed:
                failed.append(host)  # while its facts were read: it will run nothing
            elif op.dependent:
                dependent.append(host)
            elif op.commands:
                change.append(host)
            elif op.error is not None:
                ignored.append(host)
            else:
                unchanged.append(host)
        printer.outcome_line(
            meta.name,
            [
                Outcome("to change", change, "yellow"),
                Outcome("no change", unchanged, "cyan"),
                Outcome("decided when it runs (depends on an earlier change)", dependent, "yellow"),
                Outcome("error ignored", ignored, "yellow", named=True),
                Outcome("host failed", failed, "red", named=True),
            ],
        )
        if not printer.verbose:
            if diff:
                for host, op in planned:
                    if op.commands and not op.dependent and not state.results[host].failed:
                        show_diff(printer, state, host, op)
            continue
        for host, op in planned:
            if state.results[host].failed:
                printer.host_line(host, "host failed: " + (state.results[host].error or ""), "red")
            elif op.dependent:
                printer.host_line(host, "depends on an earlier change: decided when it runs", "yellow")
            elif op.commands:
                count = len(op.commands)
                printer.host_line(host, f"{count} command{'s' if count > 1 else ''}", "yellow")
                if printer.verbose >= 2:
                    for command in op.commands:
                        printer.line(f"        {command}")
                if diff:
                    show_diff(printer, state, host, op)
            elif op.error is not None:
                printer.host_line(host, "error (ignored): " + op.error, "yellow")
            else:
                printer.host_line(host, "no change", "cyan")


def report(state: State, printer: Printer) -> int:
    """Hosts succeeded and failed, operations done and changed; each host's line with
    -v. It ends with one line per host that failed (and why) or did not finish, and
    the --limit that runs them again."""
    printer.phase("Results:")
    failed, unfinished = [], []
    done = changed = 0
    for host in state.targets:
        result = state.results[host]
        done += result.ops_done
        changed += result.ops_changed
        if result.failed:
            failed.append(host)
            continue
        ops = state.host_ops[host].values()
        if any(op.status is None for op in ops):
            unfinished.append(host)  # the deploy stopped before these ran (FAIL_PERCENT)
        if printer.verbose:
            printer.host_line(
                host,
                f"Successful: {result.ops_done}/{len(ops)} operations, {result.ops_changed} changed",
                "green",
            )
    ok = len(state.targets) - len(failed) - len(unfinished)
    summary = f"    {ok} host(s) succeeded, {len(failed)} failed"
    if unfinished:
        summary += f", {len(unfinished)} not finished"
    printer.line(summary + f": {done} operations, {changed} changed")
    for host in failed:
        printer.host_line(host, "Failed: " + (state.results[host].error or "").split("\n")[0], "red")
        if any(op.status == Status.LOST for op in state.host_ops[host].values()):
            # What its operations did is unknown from one on: what is known, and what not.
            host_progress(state, host, printer, "lost while running", "not run")
    for host in unfinished:
        printer.host_line(host, "Not finished: the deploy stopped before its last operations", "yellow")
    again = failed + unfinished
    if again:
        what = "failed hosts" if not unfinished else "failed and unfinished hosts"
        printer.line(f"    to run the {what} again: --limit {','.join(h.name for h in again)}")
    return 1 if again else 0


def interrupted_report(state: State, printer: Printer) -> None:
    """After Ctrl-C, per host: the operations that completed, the one cut short while
    running (its outcome is unknown: it may have done part of its work) and those that
    never started."""
    printer.phase("Interrupted: what each host completed")
    for host in state.targets:
        if state.results[host].failed:
            printer.host_line(host, "Failed: " + (state.results[host].error or "").split("\n")[0], "red")
        host_progress(state, host, printer, "interrupted while running", "never started")


def host_progress(state: State, host, printer: Printer, cut: str, never: str) -> None:
    """A host's operations that completed, those `cut` short (their outcome unknown)
    and those `never` run."""
    ops = state.ops_for_host(host)
    done = [op.name or meta.name for meta, op in ops if op.status in (Status.SUCCESS, Status.IGNORED)]
    summary = f"completed {len(done)}/{len(ops)} operations"
    if done:
        summary += f", last: {done[-1]}"
    printer.host_line(host, summary, "yellow")
    for meta, op in ops:
        if op.status in (Status.RUNNING, Status.INTERRUPTED, Status.LOST):
            printer.host_line(host, f"{cut} (outcome unknown): {op.name or meta.name}", "red")
    left = [op.name or meta.name for meta, op in ops if op.status is None]
    if left:
        shown = ", ".join(left[:3]) + (f" and {len(left) - 3} more" if len(left) > 3 else "")
        printer.host_line(host, f"{never}: {shown}", "yellow")


def make_state(deploy, options: Options, printer: Printer) -> State:
    config = deploy.config
    if options.parallel:
        config.PARALLEL = options.parallel
    if options.sudo is not None:
        config.SUDO = options.sudo
    if options.sudo_user:
        config.SUDO_USER, config.SUDO = options.sudo_user, True
    if options.su_user:
        config.SU_USER = options.su_user
    if options.retries is not None:
        config.RETRIES = options.retries
    if options.retry_delay is not None:
        config.RETRY_DELAY = options.retry_delay
    state = State(deploy.inventory, config, deploy.deploy_dir)
    state.events = printer
    for name, functions in deploy.hooks.items():
        for function in functions:
            state.add_hook(name, function)
    state.dry_run = options.dry
    if options.verbose or (options.run and not options.quiet):
        state.on_output = printer.remote_output
        state.show_fact_output = options.verbose >= 2
    state.targets = limit_hosts(state, options.limit)
    return state


def connect(state: State, printer: Printer) -> bool:
    """Connect every target (api.ssh.connect_all, with the run's hooks); False when too
    many failed to go on."""
    printer.phase("Connecting to hosts...")
    try:
        connect_all(state)
    except DeployError as error:
        state.stopped = str(error)
        printer.error(str(error))
        return False
    return True


def connect_and_build(state: State, deploy_files, printer: Printer) -> bool:
    """connect() and build() at once: the deploy files run for every host while the
    handshakes wait on the network, and each host's facts are read as soon as it is
    connected. What the user sees is what connect() then build() show. When a host
    cannot connect, the operations are recorded again without it (from the facts
    read already: no round trip), as if it had never been built for."""
    connecting = gevent.spawn(connect, state, printer)
    # The build takes the CPU once every handshake waits on the network: the hosts
    # dial, paramiko loads and the key exchanges start first.
    gevent.idle()
    hosts = [host for host in state.targets if not state.results[host].failed]
    error = None
    try:
        try:
            build_hosts(state, lambda host: run_files(host, deploy_files), hosts=hosts)
        except Exception as raised:
            error = raised  # shown once connecting is over, as it would be then
        connected = connecting.get()
    finally:
        connecting.kill()
    if not connected or not any(host.connected for host in state.targets):
        return connected
    printer.phase("Preparing operations...")
    if not state.active_hosts():
        return True  # every host failed while its facts were read (sudo refused...)
    if any(state.results[host].failed for host in hosts):
        state.forget_operations()
        build(state, deploy_files, printer)
    elif error is not None:
        raise error
    return True


def run(options: Options, printer: Printer) -> int:
    from pyinfra.cli import modes

    deploys = [] if options.run else options.deploys
    deploy = load(options.inventory, deploys, options.override)
    for host in deploy.inventory:
        for _, values in host.data.layers():
            register_data(values)
    state = make_state(deploy, options, printer)
    if options.on_state is not None:
        options.on_state(state)
    if options.debug_data:
        return modes.debug_data(state, printer)
    if options.facts:
        facts = modes.parse_facts(options.facts)
    elif options.run:
        operation, op_args, op_kwargs = modes.parse_run(options.run, options.deploys)
    printer.phase(f"Loaded inventory: {options.inventory} ({len(state.targets)} host(s))")

    try:
        # A deploy is built while the hosts connect, unless a hook must see them
        # connected before any fact is read. Only when they all connect at once: the
        # build holds the event loop while it runs, and handshakes must not wait on it
        # for long (hundreds of hosts connect in waves anyway).
        overlap = bool(options.deploys) and not options.run and not options.facts
        overlap = overlap and not state.hooks["before_facts"] and len(state.targets) <= CONNECT_AT_ONCE
        if overlap:
            connected = connect_and_build(state, deploy.deploy_files, printer)
        else:
            connected = connect(state, printer)
        if not connected:
            report(state, printer)
            return 1
        # A host that connected and then failed (its sudo refused the password while
        # facts were read) was reached: the plan and the report say what went wrong.
        if not options.facts and not any(host.connected for host in state.targets):
            printer.error("no host could be reached")
            report(state, printer)
            return 1
        if options.facts:
            return modes.print_facts(state, facts, printer)
        if not options.deploys and not options.run:
            printer.phase("No deploy given: connected and stopped.")
            return report(state, printer)
        if not overlap:
            printer.phase("Preparing operations...")
        if options.run:
            modes.build_one(state, operation, op_args, op_kwargs)
        elif not overlap:
            build(state, deploy.deploy_files, printer)
        if options.debug_state:
            return modes.debug_state(state, printer)
        if not state.active_hosts():
            show_proposed(state, printer)
            printer.error("every host failed before any operation ran")
            return report(state, printer)
        if options.diff:
            read_diffs(state)
        show_proposed(state, printer, diff=options.diff)
        if options.dry:
            printer.phase("Dry run: nothing was changed.")
            return 1 if state.failed_hosts() else 0
        printer.phase("Beginning operation run...")
        try:
            if options.diff:
                state.events = DiffEvents(printer, state)
            run_ops(state, serial=options.serial, no_wait=options.no_wait)
        except KeyboardInterrupt:
            printer.silenced = True
            printer.done_progress()
            try:
                interrupt_all(state)
            except KeyboardInterrupt:  # pressed again: no more waiting, but the summary
                pass
            interrupted_report(state, printer)
            raise
        except DeployError as error:
            printer.run_done(state.op_order)
            state.stopped = str(error)
            printer.error(str(error))
            report(state, printer)
            return 1
        except PyinfraError:
            printer.run_done(state.op_order)
            report(state, printer)  # what the hosts did, before the hook's error
            raise
        printer.run_done(state.op_order)
        return report(state, printer)
    except KeyboardInterrupt:
        if not state.interrupted:  # while connecting, reading facts, in a hook...
            printer.silenced = True
            interrupt_all(state)
        raise
    finally:
        disconnect_all(state)
