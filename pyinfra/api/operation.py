"""@operation: turns a function of (state, host, args) -> commands into what a deploy
file calls. It names the operation, takes the global arguments, renders jinja2 string
arguments for the host, records the commands into the State and returns their meta.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import sys
from typing import TYPE_CHECKING, Any, Callable

from pyinfra.api import context
from pyinfra.api.command import to_command
from pyinfra.api.exceptions import FactIgnoredError, OperationError, OperationTypeError, PyinfraError
from pyinfra.api.secrets import MASK, is_secret_key
from pyinfra.api.state import GLOBAL_ARGUMENTS, HostOperation, State
from pyinfra.api.templating import TemplateHost

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

if TYPE_CHECKING:
    import jinja2


@functools.lru_cache(maxsize=1)
def jinja_environment() -> jinja2.Environment:
    # jinja2 is loaded on first use (20 ms): a run starts connecting before that.
    import jinja2

    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


@functools.lru_cache(maxsize=4096)
def compiled(source: str) -> jinja2.Template:
    """A string argument compiled once, rendered for every host."""
    return jinja_environment().from_string(source)


def is_template_error(error: BaseException) -> bool:
    jinja2 = sys.modules.get("jinja2")
    return jinja2 is not None and isinstance(error, jinja2.TemplateError)


def user_frames() -> list[tuple[str, int]]:
    """(file, line) of every frame of the calling code outside pyinfra in the current
    call stack, innermost first: where the operation was called from, through includes
    and helper functions. Whoever entered the deploy code (the CLI, an API program)
    only adds frames that are the same for every operation of the run."""
    frames = []
    frame = sys._getframe(2)
    while frame is not None:
        if not os.path.abspath(frame.f_code.co_filename).startswith(PACKAGE_DIR):
            frames.append((frame.f_code.co_filename, frame.f_lineno))
        frame = frame.f_back
    return frames


def render(value: Any, variables: dict) -> Any:
    """Render jinja2 in strings, inside lists, tuples and dicts too."""
    if isinstance(value, str):
        if "{{" in value or "{%" in value:
            return compiled(value).render(variables)
        return value
    if isinstance(value, list):
        return [render(v, variables) for v in value]
    if isinstance(value, tuple):
        return tuple(render(v, variables) for v in value)
    if isinstance(value, dict):
        return {k: render(v, variables) for k, v in value.items()}
    return value


def stable(value: Any) -> Any:
    """`value` with functions replaced by their qualified names: a function defined in a
    deploy file is a new object on each host, yet the same argument."""
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}".lstrip(".")
    if isinstance(value, (list, tuple)):
        return type(value)(stable(v) for v in value)
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items()}
    return value


def operation_name(func: Callable, args: tuple, kwargs: dict) -> str:
    """`Module/Op (arg, key=value)`: the name of an operation called without one."""
    module = func.__module__.rsplit(".", 1)[-1]
    words = [a if isinstance(a, str) else repr(stable(a)) for a in args]
    # A password given by name is shown as *** even when too short to be masked in text.
    words += [f"{k}={MASK if is_secret_key(k) and v is not None else stable(v)}" for k, v in kwargs.items()]
    label = f"{module.title()}/{func.__name__.title()}"
    return f"{label} ({', '.join(words)})" if words else label


def operation(func: Callable | None = None, *, opaque: bool = False) -> Callable:
    """Make `func(state, host, *args, **kwargs)` (a generator of commands) an operation.

    `opaque=True` (``@operation(opaque=True)``): what its commands change cannot be
    known from the facts it reads (a shell command, a script, a Python callback), so
    every later operation on its host is decided from fresh facts
    (api/dependencies.py). An operation of the user's own deploy files is opaque too:
    its commands are theirs."""
    if func is None:
        return functools.partial(operation, opaque=opaque)
    signature = inspect.signature(func)
    params = list(signature.parameters.values())[2:]
    op_signature = signature.replace(parameters=params)
    full_name = f"{func.__module__.rsplit('.', 1)[-1]}.{func.__name__}"
    # pyinfra's own operations never call operations, so they can be built beside the
    # deploy; one of the user's own may, and is built in place, its calls in order.
    deferrable = func.__module__.startswith("pyinfra.modules.")
    opaque = opaque or not deferrable
    fitting: set[tuple] = set()  # argument shapes the signature accepts

    @functools.wraps(func)
    def decorated(*args: Any, **kwargs: Any) -> HostOperation:
        if args and isinstance(context.unwrap(args[0]), State):
            state, host, args = context.unwrap(args[0]), context.unwrap(args[1]), args[2:]
        else:
            state, host = context.state.bound(), context.host.bound()
        if state is None or host is None:
            raise OperationError(f"{full_name}() was called outside a deploy")

        frames = user_frames()
        build = context.build_for(host)
        if build is not None:
            # Built in a greenlet of its own, whose stack ends there: where the build
            # was entered (add_op's caller) is the rest of the call site.
            frames += build.entry_frames
        location = f"{frames[0][0]}, line {frames[0][1]}" if frames else "command line"
        where = f"{location}: " if frames else ""
        name = None
        if args and isinstance(args[0], (set, frozenset)):
            name = ", ".join(sorted(str(n) for n in args[0]))
            args = args[1:]

        global_kwargs = pop_global_kwargs(state, kwargs)
        # Whether the arguments fit depends only on how many are positional and the
        # keywords' names: checked once per shape, not per host (binding is costly).
        shape = (len(args), tuple(kwargs))
        if shape not in fitting:
            try:
                op_signature.bind(*args, **kwargs)
            except TypeError as error:
                raise located(OperationTypeError(f"{where}{full_name}(): {error}")) from None
            fitting.add(shape)

        # One operation per place in the deploy (the whole call stack), whatever its
        # arguments: hosts passing their own values (an f-string with host.name) still
        # run it side by side. The n-th call from one place on a host is its n-th
        # variant (State.add_operation).
        key_source = repr(stable((frames, full_name)))
        key = hashlib.sha1(key_source.encode()).hexdigest()[:16]

        variables = {"host": TemplateHost(host), "inventory": state.inventory, "state": state}
        try:
            rendered_args = render(args, variables)
            rendered_kwargs = render(kwargs, variables)
        except Exception as error:
            if not is_template_error(error):
                raise
            raise located(
                OperationError(f"{where}{full_name}(): template error in an argument: {error}")
            ) from None
        if name is None:
            # Named as rendered for this host, not `{{ host.data.x }}`: hosts whose
            # rendering differs count as variants (OperationMeta.add_variant).
            name = operation_name(func, rendered_args, rendered_kwargs)

        ignored: list[str] = []

        def make_commands(made: context.Making) -> list:
            if made.host_op is not None:
                made.host_op.changes = made.changes
            try:
                with context.making(state, host, made):
                    commands = func(state, host, *rendered_args, **rendered_kwargs)
                    return [to_command(c) for c in commands or ()]
            except FactIgnoredError as error:
                # ignore_errors=True: not built from a guess; reported as an ignored
                # error when it runs, and the host goes on.
                message = f"{where}{full_name}(): {error}"
                if made.host_op is not None:
                    made.host_op.error = message
                else:
                    ignored.append(message)
                return []
            except PyinfraError as error:
                if not error.located:
                    error.args = (f"{where}{full_name}(): {error}",)
                    error.located = True
                raise

        def remade(host_op: HostOperation) -> list:
            return make_commands(context.Making(global_kwargs, host_op, host_op.reads))

        position = tuple(reversed(frames))
        returned: Any
        if deferrable and build is not None:
            # Recorded now, in call order; made beside the deploy's next operations,
            # so their facts are read in the same round trip (api/build.py).
            host_op = state.add_operation(host, key, name, location, [], global_kwargs, position)
            returned = build.defer(host, host_op, lambda: remade(host_op))
        else:
            made = context.Making(global_kwargs)
            commands = make_commands(made)
            host_op = state.add_operation(host, key, name, location, commands, global_kwargs, position)
            host_op.reads = made.reads
            host_op.changes = made.changes
            if ignored:
                host_op.error = ignored[0]
            returned = host_op
        host_op.opaque = opaque
        if deferrable:
            # pyinfra's own operations only yield commands: made again, they read the
            # facts as they are then (api/dependencies.py).
            host_op.remake = lambda: remade(host_op)
            on_host = getattr(func, "on_host", None)
            if on_host is not None:
                host_op.decide = lambda: decided_on_host(on_host, state, host, rendered_args, rendered_kwargs)
        return returned

    decorated.is_operation = True
    decorated.operation_function = func
    return decorated


def decided_on_host(on_host: Callable, state: State, host, args: tuple, kwargs: dict) -> list | None:
    """The commands of an operation's `on_host` (commands deciding on the host, reading
    no fact), or None when it has none for these arguments."""
    commands = on_host(state, host, *args, **kwargs)
    return None if commands is None else [to_command(command) for command in commands]


def add_op(state: State, op_func: Callable, *args: Any, **kwargs: Any) -> dict[str, HostOperation]:
    """Add an operation for every connected host of the state (pyinfra 0.1's API):
    `add_op(state, server.user, 'deploy', home='/home/deploy', sudo=True)`. A set as
    first argument names it. Returns {host name: HostOperation}: its `.commands` and
    `.changed` now, and once run_ops has run it, `.success`, `.results` and `.attempts`."""
    state.check_connected("add_op")
    return _add(state, op_func, state.active_hosts(), args, kwargs)


def add_limited_op(
    state: State, op_func: Callable, hosts: Any, *args: Any, **kwargs: Any
) -> dict[str, HostOperation]:
    """add_op for `hosts` only (a Host, or a list such as `inventory.db`); those of
    them not connected, or failed, are left out."""
    if not isinstance(hosts, (list, tuple, set, frozenset)):
        hosts = [hosts]
    state.check_connected("add_limited_op")
    wanted = {context.unwrap(host) for host in hosts}
    return _add(state, op_func, [h for h in state.active_hosts() if h in wanted], args, kwargs)


def _add(state: State, op_func: Callable, hosts: list, args: tuple, kwargs: dict) -> dict[str, HostOperation]:
    if not getattr(op_func, "is_operation", False):
        raise OperationError(f"{op_func!r} is not an operation (an @operation function of pyinfra.modules)")
    from pyinfra.api.build import build

    # Each host's call is built beside the others (their facts read together); the
    # operation's identity is this call site.
    made = build(state, lambda host: op_func(state, host, *args, **kwargs), hosts, entry_frames=user_frames())
    return {host.name: made[host] for host in hosts if host in made}


def located(error: PyinfraError) -> PyinfraError:
    error.located = True
    return error


def pop_global_kwargs(state: State, kwargs: dict) -> dict:
    config = state.config
    defaults = {
        "sudo": config.SUDO,
        "sudo_user": config.SUDO_USER,
        "su_user": config.SU_USER,
        "ignore_errors": config.IGNORE_ERRORS,
        "env": dict(config.ENV or {}),
        "serial": False,
        "run_once": False,
        "timeout": None,
        "get_pty": False,
        "retries": config.RETRIES,
        "retry_delay": config.RETRY_DELAY,
    }
    values = {}
    for name in GLOBAL_ARGUMENTS:
        value = kwargs.pop(name, defaults[name])
        if name == "env" and value is not defaults["env"]:
            value = {**defaults["env"], **(value or {})}
        values[name] = value
    return values
