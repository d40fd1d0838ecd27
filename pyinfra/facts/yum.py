"""Facts of RedHat-family hosts: installed rpm packages."""

from __future__ import annotations

from pyinfra.api import FactBase


class RpmPackages(FactBase):
    """Installed rpm packages: `{name: 'version-release'}`. Empty without rpm."""

    command = "rpm -qa --queryformat '%{NAME}\\t%{VERSION}-%{RELEASE}\\n'"
    requires_command = "rpm"
    default = dict

    def process(self, output):
        packages = {}
        for line in output:
            name, sep, version = line.partition("\t")
            # gpg-pubkey entries are keys, not packages one installs.
            if sep and name != "gpg-pubkey":
                packages[name] = version
        return packages
