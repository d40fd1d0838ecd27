"""Recording operations: `@operation` (api/operation/decorator.py) turns a function of
(state, host, arguments) -> commands into what a deploy calls; callsite.py gives each
call its identity across hosts and its name; arguments.py takes the global arguments
(sudo, env, ...). adding.py is pyinfra 0.1's `add_op` / `add_limited_op`, which hand
the call to the build (api/build) for every host."""

from pyinfra.api.operation.adding import add_limited_op, add_op
from pyinfra.api.operation.decorator import operation

__all__ = ["add_limited_op", "add_op", "operation"]
