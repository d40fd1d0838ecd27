"""The click entry point: parse options, then run the deploy pipeline (cli/deploy.py)
and turn any error into one clear message and an exit code, in this one place."""

from __future__ import annotations

import gc
import os
import signal
import sys
import traceback

import click
import gevent

from pyinfra import __version__
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.secrets import register_data
from pyinfra.cli.jsonout import Results
from pyinfra.cli.output import Printer, ShownStream, route_logs

EPILOG = """\b
Usage lines, one example each:
  deploy       pyinfra INVENTORY DEPLOY...
               pyinfra inventories/production.py deploy.py --dry
  --run        pyinfra INVENTORY --run 'COMMAND' | --run MODULE.OP ARG... KEY=VALUE...
               pyinfra inventories/production.py --run 'uptime'
               pyinfra web1.net --run server.user deploy home=/home/deploy
  --fact       pyinfra INVENTORY --fact NAME[:ARG,...] ...   (JSON on stdout)
               pyinfra @local --fact linux_distribution --fact file:/etc/hosts
  --debug-data pyinfra INVENTORY [DEPLOY] --debug-data     (JSON on stdout)
               pyinfra inventories/production.py deploy.py --debug-data
\b
INVENTORY is an inventory file, comma-separated hostnames or @local.
See docs/cli.md for every option.
"""


class Signalled(KeyboardInterrupt):
    """SIGTERM (what CI runners send on cancel) or SIGHUP (the terminal went away): the
    run stops as on Ctrl-C, and exits as a shell reports that signal (128 + its number)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    def __str__(self) -> str:
        return f"interrupted ({signal.Signals(self.signum).name})"


def parse_data(values: tuple[str, ...]) -> dict:
    from pyinfra.cli.load import parse_value

    data = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: write key=value", param_hint="--data")
        data[key] = parse_value(value)
    return data


def refuse_v3_habits(options) -> None:
    """pyinfra 3's `exec`/`fact` subcommands and fact names: say what to write here."""
    from pyinfra.cli.habits import check_fact, check_words

    if not options.run:
        check_words(options.deploys)
    for spec in options.facts:
        check_fact(spec)


@click.command(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EPILOG,
)
@click.argument("inventory_and_deploys", nargs=-1, metavar="INVENTORY [DEPLOY]...")
@click.option("-i", "--inventory", "inventory_option", help="Inventory (0.1 form of INVENTORY).")
@click.option("--run", "run_command", metavar="COMMAND", help="Run a shell command or one MODULE.OP.")
@click.option(
    "--fact", "facts", multiple=True, metavar="NAME[:ARGS]", help="Print facts as JSON (repeatable)."
)
@click.option("--facts", "list_facts", is_flag=True, help="List every fact and its arguments.")
@click.option("--debug-data", is_flag=True, help="Print each host's data and its source as JSON.")
@click.option("--debug-state", is_flag=True, help="Print the operations as JSON, run nothing.")
@click.option("--dry", is_flag=True, help="Show proposed changes, change nothing.")
@click.option(
    "--json",
    "json_output",
    is_flag=True,
    help="Print what each host did as one JSON document on stdout (deploy, --dry, --run).",
)
@click.option("--diff", is_flag=True, help="Show what each change does to files, as a diff.")
@click.option("--limit", help="Only these hosts: names, group names, * wildcards, comma-separated.")
@click.option("--serial", is_flag=True, help="Run each operation host by host.")
@click.option("--no-wait", is_flag=True, help="Let each host run ahead without waiting for others.")
@click.option("--parallel", type=click.IntRange(min=1), help="Hosts worked on at once.")
@click.option("-v", "verbose", count=True, help="Show remote output (-vv: also commands).")
@click.option("-q", "quiet", is_flag=True, help="With --run: do not show the hosts' output.")
@click.option("--debug", is_flag=True, help="Show debug logs and tracebacks.")
@click.option(
    "--enable-pipelining",
    is_flag=True,
    help="Accepted from 0.1 command lines; facts are always read in one batch per host.",
)
@click.option("-u", "--user", help="SSH user (sets ssh_user).")
@click.option("-p", "--port", type=int, help="SSH port (sets ssh_port).")
@click.option("--key", help="SSH private key file (sets ssh_key).")
@click.option("--key-password", help="Password of the SSH key (sets ssh_key_password).")
@click.option("--password", help="SSH password (sets ssh_password).")
@click.option("--ssh-config", help="ssh_config file instead of ~/.ssh/config (sets ssh_config_file).")
@click.option(
    "--connect-retries",
    type=click.IntRange(min=0),
    help="Connect again N times to hosts that refuse or time out (sets ssh_connect_retries).",
)
@click.option(
    "--retry",
    "retries",
    type=click.IntRange(min=0),
    help="Run a failed operation again up to N times (RETRIES).",
)
@click.option(
    "--retry-delay",
    type=click.FloatRange(min=0),
    help="Seconds between an operation's attempts (RETRY_DELAY).",
)
@click.option("--sudo", is_flag=True, default=None, help="Run operations with sudo.")
@click.option("--sudo-user", help="Run operations with sudo as this user.")
@click.option("--su-user", help="Run operations through su as this user.")
@click.option(
    "--sudo-password",
    prompt="sudo password (for all hosts)",
    prompt_required=False,
    hide_input=True,
    help="Password for sudo (data sudo_password); alone, it is asked once.",
)
@click.option(
    "--data",
    "data_items",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override host data (repeatable); JSON values are parsed.",
)
@click.version_option(__version__, "--version", prog_name="pyinfra")
def cli(
    inventory_and_deploys,
    inventory_option,
    run_command,
    facts,
    list_facts,
    debug_data,
    debug_state,
    dry,
    json_output,
    diff,
    limit,
    serial,
    no_wait,
    parallel,
    verbose,
    quiet,
    debug,
    enable_pipelining,
    user,
    port,
    key,
    key_password,
    password,
    ssh_config,
    connect_retries,
    retries,
    retry_delay,
    sudo,
    sudo_user,
    su_user,
    sudo_password,
    data_items,
):
    """Bring servers to the state described by deploy files, over SSH."""
    if list_facts:
        from pyinfra.cli.modes import list_facts as show_facts

        show_facts()
        return
    if quiet and verbose:
        raise click.UsageError("-q hides the output that -v shows: give one of them")
    machine = bool(facts or debug_data or debug_state)
    # --fact and --debug-* print their own JSON; --json is for deploys, --dry and --run.
    results = Results() if json_output and not machine else None
    printer = Printer(verbose=verbose, machine=machine or json_output)
    route_logs(printer, debug)

    args = list(inventory_and_deploys)
    if inventory_option:
        args.insert(0, inventory_option)
    if not args:
        raise click.UsageError("give an INVENTORY (a file, hostnames or @local)")
    override = {}
    for name, value in (
        ("ssh_user", user),
        ("ssh_port", port),
        ("ssh_key", key),
        ("ssh_key_password", key_password),
        ("ssh_password", password),
        ("ssh_config_file", ssh_config),
        ("ssh_connect_retries", connect_retries),
        ("sudo_password", sudo_password),
    ):
        if value is not None:
            override[name] = value
    override.update(parse_data(data_items))
    register_data(override)

    from pyinfra.cli.deploy import Options, run

    options = Options(
        inventory=args[0],
        deploys=args[1:],
        dry=dry,
        diff=diff,
        limit=limit,
        serial=serial,
        no_wait=no_wait,
        parallel=parallel,
        verbose=verbose,
        override=override,
        sudo=sudo,
        sudo_user=sudo_user,
        su_user=su_user,
        run=run_command,
        facts=list(facts),
        debug_data=debug_data,
        debug_state=debug_state,
        retries=retries,
        retry_delay=retry_delay,
        quiet=quiet,
        on_state=results.watch if results else None,
    )
    main = gevent.getcurrent()

    def interrupt(error: KeyboardInterrupt) -> None:
        # A signal reaches whichever greenlet runs at that moment; deliver it to the
        # main one, which owns the summary and the clean-up.
        main.throw(error)

    gevent.signal_handler(signal.SIGINT, lambda: interrupt(KeyboardInterrupt()))
    for signum in (signal.SIGTERM, signal.SIGHUP):
        gevent.signal_handler(signum, lambda signum=signum: interrupt(Signalled(signum)))
    if not debug:
        # Errors reach the user through results; no greenlet tracebacks on stderr.
        gevent.get_hub().exception_stream = None
    else:
        gevent.get_hub().exception_stream = ShownStream(sys.stderr)
    stopped: PyinfraError | str | None = None
    try:
        refuse_v3_habits(options)
        code = run(options, printer)
    except PyinfraError as error:
        stopped = error
        if debug:
            cause = error.__cause__ or error
            # The three-argument form: Python 3.9 has no other.
            lines = traceback.format_exception(type(cause), cause, cause.__traceback__)
            printer.echo("".join(lines).rstrip(), err=True)
        printer.error(str(error))
        code = error.exit_code
    except Signalled as signalled:
        stopped = str(signalled)
        printer.error(stopped)
        code = 128 + signalled.signum
    except KeyboardInterrupt:
        printer.error("interrupted")
        code = 130
        stopped = "interrupted"
    except Exception as error:
        # Our own bug, not the user's: still one clear line, never a bare traceback.
        stopped = f"internal error: {type(error).__name__}: {error}"
        if debug:
            lines = traceback.format_exception(type(error), error, error.__traceback__)
            printer.echo("".join(lines).rstrip(), err=True)
        printer.error(f"{stopped} (a bug in pyinfra; --debug shows where)")
        code = 1
    if results is not None:
        try:
            results.emit(stopped)
        except OSError:
            printer.gone = True
    if printer.gone:
        # The terminal or the reader went away: what is still buffered for it would
        # fail at exit, and Python would exit 120 instead of `code`.
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            os.dup2(devnull, fd)
    # Everything is done and closed. Leave the objects of the run to the end of the
    # process rather than to a last garbage collection, which costs a tenth of a
    # second of CPU after a run of a few dozen hosts (scripts/bench).
    gc.freeze()
    sys.exit(code)
