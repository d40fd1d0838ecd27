"""The engine, usable from Python without the CLI (importing it patches nothing)."""

from pyinfra.api.command import (
    FileDownloadCommand,
    FileUploadCommand,
    FunctionCommand,
    StringCommand,
    quote,
)
from pyinfra.api.config import Config
from pyinfra.api.exceptions import (
    ConnectError,
    DeployError,
    FactError,
    OperationError,
    OperationTypeError,
    PyinfraError,
)
from pyinfra.api.facts import FactBase
from pyinfra.api.inventory import Inventory
from pyinfra.api.operation import operation
from pyinfra.api.state import State

__all__ = [
    "Config",
    "ConnectError",
    "DeployError",
    "FactBase",
    "FactError",
    "FileDownloadCommand",
    "FileUploadCommand",
    "FunctionCommand",
    "Inventory",
    "OperationError",
    "OperationTypeError",
    "PyinfraError",
    "State",
    "StringCommand",
    "operation",
    "quote",
]
