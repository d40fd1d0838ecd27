"""pyinfra: deploy servers from plain Python files, over SSH.

A deploy file imports what it needs from here: `from pyinfra import host, inventory,
state, local, hook, secret`. `host` is the host the deploy file is being run for;
`secret(value)` marks a value that must never be shown.
"""

from pyinfra.api.context import host, inventory, state
from pyinfra.api.secrets import secret

__version__ = "0.1.0"

__all__ = ["host", "inventory", "state", "local", "hook", "secret", "__version__"]


def __getattr__(name):
    # `local` and `hook` load on first use, so importing pyinfra stays cheap.
    if name in ("local", "hook"):
        import importlib

        return importlib.import_module(f"pyinfra.{name}")
    raise AttributeError(f"module 'pyinfra' has no attribute {name!r}")
