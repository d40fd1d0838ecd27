"""Where an operation was called from: its identity across hosts (the same call stack
is one operation whatever its per-host arguments) and the name it shows."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

from pyinfra.api.secrets import MASK, is_secret_key

# pyinfra/: frames in it are ours, not the deploy's.
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + os.sep


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


def module_of(func: Callable) -> str:
    """The module an operation belongs to, as deploys name it: `files` for
    pyinfra.modules.files and for pyinfra.modules.files.lines (a module split into a
    package keeps its name), the defining module's own name for a deploy's operation."""
    parts = func.__module__.split(".")
    if parts[:2] == ["pyinfra", "modules"] and len(parts) > 2:
        return parts[2]
    return parts[-1]


def operation_name(func: Callable, args: tuple, kwargs: dict) -> str:
    """`Module/Op (arg, key=value)`: the name of an operation called without one."""
    module = module_of(func)
    words = [a if isinstance(a, str) else repr(stable(a)) for a in args]
    # A password given by name is shown as *** even when too short to be masked in text.
    words += [f"{k}={MASK if is_secret_key(k) and v is not None else stable(v)}" for k, v in kwargs.items()]
    label = f"{module.title()}/{func.__name__.title()}"
    return f"{label} ({', '.join(words)})" if words else label

