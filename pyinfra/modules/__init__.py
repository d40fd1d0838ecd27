"""Operations, one module per system area: `from pyinfra.modules import server, files`."""

from __future__ import annotations

import difflib
import sys


def unknown_operation(module_name: str):
    """A module-level __getattr__: `server.shel(...)` says what exists instead of an
    AttributeError from deep inside Python."""

    def __getattr__(name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        from pyinfra.api.exceptions import OperationError

        class UnknownOperation(OperationError, AttributeError):
            pass

        module = sys.modules[module_name]
        ops = [n for n, v in vars(module).items() if getattr(v, "is_operation", False)]
        close = difflib.get_close_matches(name, ops, n=3)
        short = module_name.rsplit(".", 1)[-1]
        hint = f" (did you mean: {', '.join(f'{short}.{c}' for c in close)}?)" if close else ""
        raise UnknownOperation(f"unknown operation {short}.{name}{hint}")

    return __getattr__
