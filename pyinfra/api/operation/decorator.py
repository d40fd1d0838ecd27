"""@operation: turns a function of (state, host, args) -> commands into what a deploy
file calls. It names the operation, takes the global arguments, renders jinja2 string
arguments for the host, records the commands into the State and returns their meta.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from typing import Any, Callable

from pyinfra.api import context
from pyinfra.api.command import to_command
from pyinfra.api.exceptions import FactIgnoredError, OperationError, OperationTypeError, PyinfraError
from pyinfra.api.operation.arguments import pop_global_kwargs
from pyinfra.api.operation.callsite import module_of, operation_name, stable, user_frames
from pyinfra.api.state import HostOperation, State
from pyinfra.api.templating import TemplateHost, is_template_error, render


def operation(func: Callable | None = None, *, opaque: bool = False) -> Callable:
    """Make `func(state, host, *args, **kwargs)` (a generator of commands) an operation.

    `opaque=True` (``@operation(opaque=True)``): what its commands change cannot be
    known from the facts it reads (a shell command, a script, a Python callback), so
    every later operation on its host is decided from fresh facts
    (api/build/dependencies.py). An operation of the user's own deploy files is opaque too:
    its commands are theirs."""
    if func is None:
        return functools.partial(operation, opaque=opaque)
    signature = inspect.signature(func)
    params = list(signature.parameters.values())[2:]
    op_signature = signature.replace(parameters=params)
    full_name = f"{module_of(func)}.{func.__name__}"
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
            # so their facts are read in the same round trip (api/build/builder.py).
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
            # facts as they are then (api/build/dependencies.py).
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


def located(error: PyinfraError) -> PyinfraError:
    error.located = True
    return error


