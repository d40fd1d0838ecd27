"""Python code run on the controller during the deploy."""

from __future__ import annotations

from pyinfra.api import FunctionCommand, OperationError, operation
from pyinfra.modules import unknown_operation


@operation(opaque=True)
def execute(state, host, callback, *args, **kwargs):
    """Call a Python function on the machine running pyinfra when this operation's turn
    comes in the deploy, once per host (it runs on every deploy).

    + callback: the function, called as ``callback(state, host, *args, **kwargs)``
    + args: further positional arguments for it
    + kwargs: further keyword arguments for it

    An exception it raises fails this host only, like a failed command, with the
    exception's type and message (``python my_callback(...): ValueError: bad thing``;
    ``--debug`` adds the traceback); the other hosts go on.
    """
    if not callable(callback):
        raise OperationError(f"callback must be a function, not {callback!r}")
    yield FunctionCommand(callback, tuple(args), dict(kwargs))


__getattr__ = unknown_operation(__name__)
