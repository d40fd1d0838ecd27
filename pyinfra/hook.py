"""Deploy hooks, defined in config.py or at the top of a deploy file:

    from pyinfra import hook

    @hook.before_connect
    def check_branch(data, state):
        ...

Each is called as f(data, state). Raising hook.Error stops the run.

The decorators register the function with the run whose files are being loaded (the
CLI collects them and gives them to its State). Outside loading they leave the function
as it is: a deploy file also runs once per host, and an API user registers hooks on
their own State with `state.add_hook(name, function)`.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from pyinfra.api.exceptions import HookError
from pyinfra.api.state import HOOK_NAMES

Error = HookError

# The hooks of the run being loaded, while it is (collect()); None otherwise.
_collector: list[dict[str, list[Callable]] | None] = [None]


@contextmanager
def collect() -> Iterator[dict[str, list[Callable]]]:
    """Hooks the decorators register meanwhile go into the dict yielded, name -> functions."""
    hooks: dict[str, list[Callable]] = {name: [] for name in HOOK_NAMES}
    previous = _collector[0]
    _collector[0] = hooks
    try:
        yield hooks
    finally:
        _collector[0] = previous


def _register(name: str) -> Callable[[Callable], Callable]:
    def decorator(function: Callable) -> Callable:
        hooks = _collector[0]
        if hooks is not None and function not in hooks[name]:
            hooks[name].append(function)
        return function

    decorator.__name__ = name
    return decorator


before_connect = _register("before_connect")
before_facts = _register("before_facts")
before_deploy = _register("before_deploy")
after_deploy = _register("after_deploy")

__all__ = ["Error", "HookError", *HOOK_NAMES]
