"""The `pyinfra` command. Importing this package patches the process for gevent, so
only the command itself imports it; `pyinfra.api` patches nothing."""

from gevent import monkey

monkey.patch_all()

from pyinfra.cli.main import cli  # noqa: E402

__all__ = ["cli"]
