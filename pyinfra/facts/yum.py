"""Facts of RedHat-family hosts: installed rpm packages and available updates."""

from __future__ import annotations

import re

from pyinfra.api import FactBase, quote
from pyinfra.api.facts import ABSENT

RPM_FORMAT = "%{NAME}\\t%{VERSION}-%{RELEASE}\\n"


class RpmPackages(FactBase):
    """Installed rpm packages: `{name: 'version-release'}`. Empty without rpm."""

    command = f"rpm -qa --queryformat '{RPM_FORMAT}'"
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


class RpmPackage(FactBase):
    """One package: `{name, version}` ('version-release') of an .rpm file on the host
    when `name` is a file, else of the installed package called `name`. None when there
    is neither."""

    requires_command = "rpm"

    def command(self, name):
        path = quote(name)
        # rpm -q says "package NAME is not installed" (on stdout, exit 1) for a package
        # it does not have; any other failure is an error.
        missing = quote(f"package {name} is not installed")
        return (
            f"if [ -f {path} ]; then rpm -qp --queryformat '{RPM_FORMAT}' {path};"
            f" else o=$(rpm -q --queryformat '{RPM_FORMAT}' -- {path}); r=$?;"
            f' if [ $r -eq 1 ] && [ "$o" = {missing} ]; then echo {ABSENT};'
            f' else printf "%s\\n" "$o"; (exit $r); fi; fi'
        )

    def process(self, output):
        for line in output:
            name, sep, version = line.partition("\t")
            if sep:
                return {"name": name, "version": version}
        return None


class YumUpdates(FactBase):
    """What `yum update` would update now: `{name: new 'version-release'}`, {} when
    everything is up to date. None without yum."""

    # check-update exits 100 when there are updates, 0 when none, 1 on errors. The
    # last line tells "up to date" (no other output) from "no yum".
    command = 'yum check-update -q; r=$?; echo "# exit $r"; [ $r -eq 0 ] || [ $r -eq 100 ]'
    requires_command = "yum"

    def process(self, output):
        updates = {}
        pending = ""
        for line in output:
            if line.startswith("Obsoleting"):
                break
            if not line.strip() or line.startswith("# exit "):
                continue
            # A long name is printed alone, its version on the next line.
            if len(line.split()) == 1 and not line[0].isspace():
                pending = line.strip()
                continue
            line, pending = f"{pending} {line.strip()}" if pending else line, ""
            # "nano.x86_64     2.3.1-10.el7_9     updates"
            match = re.match(r"^(\S+)\.(\w+)\s+(?:\d+:)?(\S+)\s+\S+$", line)
            if match:
                updates[match.group(1)] = match.group(3)
        return updates
