"""Python packages, with pip, system-wide or in a virtualenv."""

from __future__ import annotations

import posixpath
import re

from pyinfra.api import OperationError, operation, quote
from pyinfra.modules import unknown_operation
from pyinfra.modules._files import path_arg
from pyinfra.modules._packages import ensure_packages, package_list

# A requirement as pip reads it (PEP 508): a name, extras, then version specifiers
# (bare or in parentheses) or `@ URL`, then an environment marker after `;`.
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_ONE = r"(?:===|==|!=|<=|>=|~=|<|>)\s*[A-Za-z0-9_.*+!-]+"
_SPECS = rf"{_ONE}(?:\s*,\s*{_ONE})*"
REQUIREMENT = re.compile(
    rf"\s*{_NAME}\s*(?:\[\s*(?:{_NAME}(?:\s*,\s*{_NAME})*)?\s*\])?\s*"
    rf"(?:@\s*[A-Za-z][A-Za-z0-9+.-]*://\S+(?:\s+;.*)?|(?:{_SPECS}|\(\s*{_SPECS}\s*\))?\s*(?:;.*)?)"
)


def normalize(name: str) -> str:
    """pip's names compare case-insensitively, '-', '_' and '.' alike."""
    return re.sub(r"[-_.]+", "-", name).lower()


def check_requirements(packages) -> None:
    """Refuse a spec pip would not read as a requirement: read by its leading name, a
    typo like 'pkg@1.1' would act on 'pkg' (uninstall it, with present=False)."""
    for spec in package_list(packages):
        if not REQUIREMENT.fullmatch(spec):
            raise OperationError(
                f"{spec!r} is not a pip requirement: write name, name==1.0, name>=1,<2, "
                "name[extra] or name @ https://..."
            )


def split_version(spec: str, installed: dict) -> tuple[str, str | None]:
    """'Django==4.2' -> ('django', '4.2'); other specifiers ('>=4') only ask for the
    package to be installed."""
    name = re.split(r"[\s<>=!~;\[@]", spec, maxsplit=1)[0]
    match = re.match(r"^[^=<>!~]+==\s*([^\s;,]+)$", spec)
    return normalize(name), match.group(1) if match else None


def same_version(current: str, wanted: str) -> bool:
    return current == wanted


@operation
def packages(state, host, packages=None, present=True, latest=False, requirements=None, virtualenv=None):
    """Install or remove Python packages with pip.

    + packages: a package name or a list of them; ``name==version`` pins a version
    + present: whether the packages should be installed
    + latest: upgrade installed packages (without a pinned version) with
      ``pip install --upgrade`` (pip asks its index on every deploy)
    + requirements: path of a requirements file on the host to install; skipped when
      pip's dry run says every requirement is met
    + virtualenv: directory of a virtualenv to install into, created (``python3 -m
      venv``, else ``virtualenv``) when missing

    pip's own settings come through the environment: ``env={'PIP_INDEX_URL': ...}``.
    A package that is not a requirement pip can read (``pkg@1.1``, a path) is an
    error before anything runs; install files and VCS URLs with ``requirements``.
    """
    check_requirements(packages)
    created = False
    if virtualenv:
        venv = str(virtualenv)
        pip = quote(posixpath.join(venv, "bin", "pip"))
        if host.fact.file(posixpath.join(venv, "bin", "activate")) is None:
            yield f"python3 -m venv {path_arg(venv)} || virtualenv {path_arg(venv)}"
            created = True
        installed = {} if created else host.fact.pip_virtualenv_packages(venv)
    else:
        pip = "pip" if host.fact.which("pip") or not host.fact.which("pip3") else "pip3"
        installed = host.fact.pip_packages

    if requirements:
        unmet = None
        if not created:
            unmet = host.fact.pip_unmet_requirements(
                posixpath.join(venv, "bin", "pip") if virtualenv else pip, requirements
            )
        if unmet is None or unmet:
            yield f"{pip} install -r {path_arg(requirements)}"

    yield from ensure_packages(
        packages,
        {normalize(name): version for name, version in (installed or {}).items()},
        present,
        latest,
        split_version,
        same_version,
        install_command=f"{pip} install",
        remove_command=f"{pip} uninstall --yes",
        upgrade_command=f"{pip} install --upgrade",
    )


__getattr__ = unknown_operation(__name__)
