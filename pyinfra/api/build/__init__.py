"""Phase 5, the build: the deploy run once per host (builder.py), its fact reads
batched into one round trip per host and round, each operation's commands made from
the facts; then which operations depend on an earlier change (dependencies.py)."""

from pyinfra.api.build.builder import Build, Pending, build, describe_error, operation_of

__all__ = ["Build", "Pending", "build", "describe_error", "operation_of"]
