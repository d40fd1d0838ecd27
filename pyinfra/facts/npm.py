"""Facts about Node.js packages installed with npm."""

from __future__ import annotations

import re

from pyinfra.api import FactBase, quote
from pyinfra.facts.files import if_exists

# A tree line of `npm list --depth=0`: "├── express@4.18.2", "+-- @types/node@20.1.0",
# "`-- left-pad@1.3.0". Versions are whatever follows the last "@".
TREE_LINE = re.compile(r"^[^\w@]*[├└`+|][^\w@]*\s((?:@[^@\s/]+/)?[^@\s]+)@(\S+)")


def parse_npm_list(output) -> dict:
    packages = {}
    for line in output:
        if "UNMET" in line:
            continue
        match = TREE_LINE.match(line)
        if match:
            packages[match.group(1)] = match.group(2)
    return packages


class NpmPackages(FactBase):
    """Node.js packages installed globally: `{name: version}`. Empty without npm."""

    command = "npm list -g --depth=0"
    requires_command = "npm"
    default = dict

    def process(self, output):
        return parse_npm_list(output)


class NpmLocalPackages(FactBase):
    """Node.js packages installed in a project directory (its node_modules): `{name:
    version}`. Empty when the directory is absent or npm is missing."""

    requires_command = "npm"
    default = dict

    def command(self, directory):
        # npm list exits 1 on problems it still lists (extraneous, missing peers).
        # A subshell: facts read together share one shell, which must not move.
        return if_exists(directory, f"(cd {quote(directory)} && {{ npm list --depth=0 || [ $? -eq 1 ]; }})")

    def process(self, output):
        return parse_npm_list(output)
