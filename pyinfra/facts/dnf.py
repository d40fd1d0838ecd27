"""Facts of dnf hosts (Fedora, RHEL 8 and later): available updates and the signing
keys rpm trusts. Installed packages are the ``rpm_packages`` fact."""

from __future__ import annotations

from pyinfra.api import FactBase, quote
from pyinfra.api.facts import ABSENT
from pyinfra.facts.yum import YumUpdates

KEY_FORMAT = "%{VERSION}-%{RELEASE}\\n"


class DnfUpdates(YumUpdates):
    """What ``dnf upgrade`` would update now: `{name: new 'version-release'}`, {} when
    everything is up to date. None without dnf."""

    # As yum's: check-update exits 100 when there are updates, 0 when none, 1 on errors.
    command = 'dnf check-update -q; r=$?; echo "# exit $r"; [ $r -eq 0 ] || [ $r -eq 100 ]'
    requires_command = "dnf"
    default = None


def key_ids(output) -> list[str]:
    return sorted(line.strip() for line in output if line.strip())


class RpmKeys(FactBase):
    """The signing keys rpm trusts: their ids as rpm names them (``gpg-pubkey``
    version-release: the key ID's last 8 hex digits and its creation time, like
    ``d890d02a-6b173a0f``), sorted. [] without rpm."""

    command = f"rpm -qa --queryformat '{KEY_FORMAT}' gpg-pubkey"
    requires_command = "rpm"
    default = list

    def process(self, output):
        return key_ids(output)


class RpmKeyFile(FactBase):
    """The ids (as ``rpm_keys`` names them) of the keys in a key file on the host, read
    by importing it into a throwaway rpm database. None when there is no such file; a
    file rpm cannot import is an error."""

    requires_command = "rpm"

    def command(self, name):
        path = quote(name)
        return (
            f"if [ -e {path} ] || [ -L {path} ]; then"
            ' d=$(mktemp -d) && { rpmkeys --dbpath "$d" --import '
            f"{path} && rpm --dbpath \"$d\" -qa --queryformat '{KEY_FORMAT}' gpg-pubkey; }};"
            ' r=$?; rm -rf "$d"; (exit $r);'
            f" else echo {ABSENT}; fi"
        )

    def process(self, output):
        ids = key_ids(output)
        if not ids:
            raise ValueError("rpm found no key in the file")
        return ids
