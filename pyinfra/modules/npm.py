"""Node.js packages, with npm, globally or in a project directory."""

from __future__ import annotations

from pyinfra.api import operation
from pyinfra.modules import unknown_operation
from pyinfra.modules._files import path_arg
from pyinfra.modules._packages import ensure_packages


def split_version(spec: str, installed: dict) -> tuple[str, str | None]:
    """'express@4.18.2' -> ('express', '4.18.2'); '@types/node' is a scoped name."""
    at = spec.rfind("@")
    if at > 0:
        return spec[:at], spec[at + 1 :] or None
    return spec, None


def same_version(current: str, wanted: str) -> bool:
    return current == wanted


@operation
def packages(state, host, packages=None, present=True, latest=False, directory=None):
    """Install or remove Node.js packages with npm.

    + packages: a package name or a list of them; ``name@version`` pins a version
    + present: whether the packages should be installed
    + latest: update installed packages (without a pinned version) with ``npm update``
      (npm asks its registry on every deploy)
    + directory: project directory to install into (its node_modules); without it the
      packages are installed globally (``-g``)
    """
    if directory:
        installed = host.fact.npm_local_packages(directory)
        prefix = f"cd {path_arg(directory)} && npm"
        scope = ""
    else:
        installed = host.fact.npm_packages
        prefix, scope = "npm", " -g"
    yield from ensure_packages(
        packages,
        installed,
        present,
        latest,
        split_version,
        same_version,
        install_command=f"{prefix} install{scope}",
        remove_command=f"{prefix} uninstall{scope}",
        upgrade_command=f"{prefix} update{scope}",
    )


__getattr__ = unknown_operation(__name__)
