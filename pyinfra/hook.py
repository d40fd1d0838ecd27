"""Deploy hooks, defined in config.py or at the top of a deploy file:

    from pyinfra import hook

    @hook.before_connect
    def check_branch(data, state):
        ...

Each is called as f(data, state). Raising hook.Error stops the run.
"""

from __future__ import annotations

from typing import Callable

from pyinfra.api.exceptions import HookError

Error = HookError

HOOK_NAMES = ("before_connect", "before_facts", "before_deploy", "after_deploy")

# Hooks registered while the CLI loads config.py and the deploy file's top level.
HOOKS: dict[str, list[Callable]] = {name: [] for name in HOOK_NAMES}
_collecting = [False]


def _register(name: str) -> Callable[[Callable], Callable]:
    def decorator(function: Callable) -> Callable:
        # The deploy file also runs once per host: register only on the loading pass.
        if _collecting[0] and function not in HOOKS[name]:
            HOOKS[name].append(function)
        return function

    decorator.__name__ = name
    return decorator


before_connect = _register("before_connect")
before_facts = _register("before_facts")
before_deploy = _register("before_deploy")
after_deploy = _register("after_deploy")

__all__ = ["Error", "HookError", *HOOK_NAMES]
