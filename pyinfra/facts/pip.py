"""Facts about Python packages installed with pip."""

from __future__ import annotations

import json
import posixpath

from pyinfra.api import FactBase, quote
from pyinfra.api.facts import ABSENT
from pyinfra.facts.files import if_exists

PIP_LIST = "list --format=freeze --disable-pip-version-check"


def parse_freeze(output) -> dict:
    """{name: version} from "name==version" lines."""
    packages = {}
    for line in output:
        name, sep, version = line.strip().partition("==")
        if sep and name and not name.startswith("-"):
            packages[name] = version
    return packages


class PipPackages(FactBase):
    """Python packages installed for the system's pip (``pip``, else ``pip3``):
    `{name: version}`. Empty without pip."""

    command = (
        f"if command -v pip >/dev/null 2>&1; then pip {PIP_LIST};"
        f" elif command -v pip3 >/dev/null 2>&1; then pip3 {PIP_LIST}; else echo {ABSENT}; fi"
    )
    default = dict

    def process(self, output):
        return parse_freeze(output)


class PipVirtualenvPackages(FactBase):
    """Python packages installed in a virtualenv: `{name: version}`. Empty when the
    virtualenv (its bin/pip) does not exist."""

    default = dict

    def command(self, venv):
        pip = posixpath.join(str(venv), "bin", "pip")
        return if_exists(pip, f"{quote(pip)} {PIP_LIST}")

    def process(self, output):
        return parse_freeze(output)


class PipUnmetRequirements(FactBase):
    """The packages pip would install for a requirements file on the host (a dry run
    without an index, pip 22.2 or newer): a list of names, [] when every requirement is
    met. None when pip cannot tell (older pip, a requirement only an index has): the
    operation then runs ``pip install -r``, which says what is wrong if anything is."""

    def command(self, pip, requirements):
        # No index: met requirements need none, and an unmet one is all we need to know.
        # Failing to tell leads to the install, never to "nothing to do".
        return (
            f"if r=$({quote(pip)} install --dry-run --no-index --quiet --disable-pip-version-check"
            f" --report - -r {quote(requirements)} 2>/dev/null);"
            f" then printf '%s\\n' \"$r\"; else echo {ABSENT}; fi"
        )

    def process(self, output):
        report = json.loads("\n".join(output))
        return [item["metadata"]["name"] for item in report.get("install", [])]
