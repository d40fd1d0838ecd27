"""Facts about Ruby gems."""

from __future__ import annotations

import re

from pyinfra.api import FactBase


class GemPackages(FactBase):
    """Installed gems: `{name: [versions]}`, newest first. Empty without gem."""

    command = "gem list --local"
    requires_command = "gem"
    default = dict

    def process(self, output):
        gems = {}
        for line in output:
            # "rake (13.0.6, 12.3.3)", "bigdecimal (default: 3.1.1)", "nokogiri (1.15.4 x86_64-linux)"
            match = re.match(r"^(\S+) \((.*)\)$", line.strip())
            if not match:
                continue
            versions = []
            for version in match.group(2).split(","):
                version = version.strip()
                if version.startswith("default:"):
                    version = version[len("default:") :].strip()
                if version:
                    versions.append(version.split()[0])
            gems[match.group(1)] = versions
        return gems
