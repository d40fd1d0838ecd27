"""Facts of Debian-family hosts: installed .deb packages, apt sources, keys, upgrades."""

from __future__ import annotations

import re

from pyinfra.api import FactBase, quote
from pyinfra.api.facts import ABSENT


class DebPackages(FactBase):
    """Installed deb packages: `{name: version}`. Empty without dpkg."""

    # One line per package dpkg knows: "install ok installed<TAB>nano<TAB>7.2-1".
    command = "dpkg-query -W -f '${Status}\\t${Package}\\t${Version}\\n'"
    requires_command = "dpkg-query"
    default = dict

    def process(self, output):
        packages = {}
        for line in output:
            parts = line.split("\t")
            # Removed packages whose config files remain are listed too: skip them.
            if len(parts) == 3 and parts[0].endswith(" installed"):
                packages[parts[1]] = parts[2]
        return packages


class DebPackage(FactBase):
    """One package: `{name, version}` of a .deb file on the host when `name` is a file,
    else of the installed package called `name`. None when there is neither."""

    requires_command = "dpkg-query"

    def command(self, name):
        path = quote(name)
        # dpkg-query exits 1 for "no package found matching", 2 for its errors.
        return (
            f"if [ -f {path} ]; then dpkg-deb -f {path} Package Version;"
            f" else dpkg-query -W -f 'Status: ${{Status}}\\nPackage: ${{Package}}\\nVersion: ${{Version}}\\n'"
            f" -- {path}; r=$?; if [ $r -eq 1 ]; then echo {ABSENT}; else (exit $r); fi; fi"
        )

    def process(self, output):
        fields = {}
        for line in output:
            key, sep, value = line.partition(": ")
            if sep:
                fields[key] = value.strip()
        status = fields.get("Status")
        if status is not None and not status.endswith(" installed"):
            return None
        if "Package" not in fields:
            return None
        return {"name": fields["Package"], "version": fields.get("Version")}


def parse_sources_list_line(line: str) -> dict | None:
    """{type, url, distribution, components, options} of a one-line sources.list entry."""
    line = line.split("#", 1)[0].strip()
    match = re.match(r"^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(.*)$", line)
    if not match:
        return None
    options = {}
    for option in (match.group(2) or "").split():
        key, _, value = option.partition("=")
        options[key] = value
    return {
        "type": match.group(1),
        "url": match.group(3),
        "distribution": match.group(4),
        "components": match.group(5).split(),
        "options": options,
    }


def parse_deb822(lines: list[str]) -> list[dict]:
    """The entries of a deb822 .sources file: each stanza gives one entry per type, URI
    and suite."""
    entries = []
    stanzas: list[dict] = [{}]
    key = None
    for line in lines:
        if not line.strip():
            if stanzas[-1]:
                stanzas.append({})
            key = None
            continue
        if line.startswith("#"):
            continue
        if line[0] in " \t" and key:
            stanzas[-1][key] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            key = None
            continue
        key = key.strip().lower()
        stanzas[-1][key] = value.strip()
    for stanza in stanzas:
        if not stanza or stanza.get("enabled", "yes").lower() == "no":
            continue
        options = {
            k: v for k, v in stanza.items() if k not in ("types", "uris", "suites", "components", "enabled")
        }
        for kind in stanza.get("types", "").split():
            for url in stanza.get("uris", "").split():
                for suite in stanza.get("suites", "").split():
                    entries.append(
                        {
                            "type": kind,
                            "url": url,
                            "distribution": suite,
                            "components": stanza.get("components", "").split(),
                            "options": dict(options),
                        }
                    )
    return entries


class AptSources(FactBase):
    """The apt sources: a list of `{type, url, distribution, components, options}`, from
    /etc/apt/sources.list and /etc/apt/sources.list.d (one-line .list files and deb822
    .sources files). [] when there are none."""

    command = (
        "r=0; for f in /etc/apt/sources.list"
        " /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources;"
        ' do if [ -f "$f" ]; then echo "==> $f"; cat -- "$f" || r=1; echo; fi; done; [ $r -eq 0 ]'
    )
    default = list

    def process(self, output):
        entries = []
        current, lines = None, []

        def flush():
            if current and current.endswith(".sources"):
                entries.extend(parse_deb822(lines))
            elif current:
                for line in lines:
                    entry = parse_sources_list_line(line)
                    if entry:
                        entries.append(entry)

        for line in output:
            if line.startswith("==> /"):
                flush()
                current, lines = line[4:], []
            else:
                lines.append(line)
        flush()
        return entries


class AptKeys(FactBase):
    """The keys apt trusts (/etc/apt/trusted.gpg, trusted.gpg.d and keyrings): `{long key
    id: {fingerprint, uid, subkeys, file}}`, subkeys a list of their long IDs. Empty
    without gpg."""

    command = (
        # A key file gpg cannot read is an error: a key taken as missing would be added.
        "d=$(mktemp -d) && { r=0; for f in /etc/apt/trusted.gpg /etc/apt/trusted.gpg.d/* /etc/apt/keyrings/*;"
        ' do if [ -f "$f" ]; then echo "file:$f";'
        ' gpg --homedir "$d" --batch --with-colons --show-keys "$f" || r=$?; fi; done;'
        ' rm -rf "$d"; [ $r -eq 0 ]; }'
    )
    requires_command = "gpg"
    default = dict

    def process(self, output):
        keys = {}
        current_file, key, primary = None, None, None
        for line in output:
            if line.startswith("file:"):
                current_file, key, primary = line[5:], None, None
                continue
            fields = line.split(":")
            if fields[0] == "pub" and len(fields) > 4:
                key = {"fingerprint": None, "uid": None, "subkeys": [], "file": current_file}
                keys[fields[4]] = primary = key
            elif fields[0] in ("sub", "ssb") and len(fields) > 4 and primary is not None:
                primary["subkeys"].append(fields[4])
                key = None  # the fingerprint that follows is the subkey's
            elif key is not None and fields[0] == "fpr" and len(fields) > 9 and not key["fingerprint"]:
                key["fingerprint"] = fields[9]
            elif key is not None and fields[0] == "uid" and len(fields) > 9 and not key["uid"]:
                key["uid"] = fields[9]
        return keys


class AptUpgrades(FactBase):
    """What `apt-get upgrade` would upgrade now: `{name: new version}`, {} when
    everything is up to date (as the package lists know). None without apt-get."""

    command = "LC_ALL=C apt-get -s -o Debug::NoLocking=1 upgrade"
    requires_command = "apt-get"

    def process(self, output):
        upgrades = {}
        for line in output:
            # "Inst curl [7.88.1-10+deb12u5] (7.88.1-10+deb12u6 Debian-Security:12/stable [amd64])"
            match = re.match(r"^Inst (\S+) \[[^\]]*\] \((\S+)", line)
            if match:
                upgrades[match.group(1)] = match.group(2)
        return upgrades
