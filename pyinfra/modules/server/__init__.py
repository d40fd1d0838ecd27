"""Shell commands and scripts, waiting for a port, users and groups."""

# The operations in the order the docs list them: gendocs follows these imports.
from pyinfra.modules import unknown_operation
from pyinfra.modules.server.commands import script, shell, wait
from pyinfra.modules.server.users import group, user

__all__ = ["shell", "script", "wait", "group", "user"]

__getattr__ = unknown_operation(__name__)
