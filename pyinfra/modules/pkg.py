"""Packages on BSD hosts (pkg, pkg_add): not supported, see "Supported hosts" in
docs/deploys.md."""

from __future__ import annotations

from pyinfra.api import OperationError, operation
from pyinfra.modules import unknown_operation

# One message for every BSD operation: what is supported instead.
BSD_UNSUPPORTED = (
    "BSD hosts are not supported: {name} needs a BSD userland"
    " (supported: GNU userlands - Debian and RHEL families - and busybox ones like Alpine)"
)


@operation
def packages(state, host, packages=None, present=True, pkg_path=None):
    """Install or remove BSD packages. BSD hosts are not supported: this operation
    always fails with an error saying so.

    + packages: a package name or a list of them; ``name-version`` pins a version
    + present: whether the packages should be installed
    + pkg_path: the mirror to install from (``PKG_PATH``, for pkg_add)
    """
    raise OperationError(BSD_UNSUPPORTED.format(name="pkg.packages"))
    yield  # an operation is a generator of commands


__getattr__ = unknown_operation(__name__)
