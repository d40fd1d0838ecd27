"""ssh_config read with OpenSSH's rules (ssh_config(5)): the first value obtained for a
keyword wins; `Host` and `Match` blocks; `Include` with globs; `%` tokens.

paramiko's SSHConfig is not used: it has no `Include`, matches `Match user` against the
local user rather than the remote one known so far, keeps the last `Host *` value in
some keywords and expands tokens in a few keywords only."""

from __future__ import annotations

import fnmatch
import getpass
import glob
import os
import shlex
import socket

from pyinfra.api.exceptions import ConnectError

# Keywords whose every occurrence adds to a list instead of the first one winning.
MULTI = {"identityfile", "certificatefile", "localforward", "remoteforward", "dynamicforward"}
# Keywords whose value is a list of words on one line.
WORDS = {"userknownhostsfile", "globalknownhostsfile"}
# Keywords whose value may carry % tokens (and ~), as ssh_config(5) lists them.
TOKENS = {"identityfile", "userknownhostsfile", "globalknownhostsfile", "proxycommand", "certificatefile"}
MAX_INCLUDE_DEPTH = 16


def default_files() -> list[str]:
    return [os.path.expanduser("~/.ssh/config"), "/etc/ssh/ssh_config"]


def pattern_list_matches(patterns: list[str], value: str) -> bool:
    """OpenSSH's pattern lists: some pattern matches and no negated one does."""
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if fnmatch.fnmatchcase(value.lower(), pattern.lstrip("!").lower()):
            if negated:
                return False
            matched = True
    return matched


# path -> ((mtime, size), its lines split): every host of a run reads the same files.
_PARSED: dict[str, tuple[tuple, list]] = {}


def parsed_file(path: str) -> list[tuple[int, str, list[str]]]:
    """(line number, keyword, words) of each option line of the file, read once while
    it does not change (splitting the words costs 1-2 ms a file: per host, that adds
    up over hundreds)."""
    info = os.stat(path)
    stamp = (info.st_mtime_ns, info.st_size)
    known = _PARSED.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    with open(path) as handle:
        text = handle.read()
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        parsed = _split(line)
        if parsed is not None:
            lines.append((number, *parsed))
    _PARSED[path] = (stamp, lines)
    return lines


_GLOBS: dict[str, tuple[int, list[str]]] = {}


def included_files(pattern: str) -> list[str]:
    """The files an Include pattern names, listed again only when their directory
    changes."""
    folder = os.path.dirname(pattern) or os.curdir
    if glob.has_magic(folder):
        return sorted(glob.glob(pattern))
    try:
        stamp = os.stat(folder).st_mtime_ns
    except OSError:
        return []
    known = _GLOBS.get(pattern)
    if known is None or known[0] != stamp:
        known = _GLOBS[pattern] = (stamp, sorted(glob.glob(pattern)))
    return known[1]


def _split(line: str) -> tuple[str, list[str]] | None:
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    if "=" in line.split(None, 1)[0]:  # Keyword=value
        keyword, _, rest = line.partition("=")
    else:
        parts = line.split(None, 1)
        keyword, rest = parts[0], parts[1] if len(parts) > 1 else ""
    rest = rest.strip().lstrip("=").strip()
    try:
        words = shlex.split(rest, comments=True)
    except ValueError:
        words = rest.split()
    return keyword.strip().lower(), words


class SSHConfigLookup:
    """The options ssh_config gives one host name, as OpenSSH would use them."""

    def __init__(self, host: str, files: list[str], user: str | None = None):
        self.original = host
        self.forced_user = user
        self.options: dict[str, object] = {}
        for path in files:
            # Relative Includes: from ~/.ssh in a user's file, /etc/ssh in the system's.
            system = os.path.abspath(path).startswith("/etc/ssh/")
            base = "/etc/ssh" if system else os.path.expanduser("~/.ssh")
            self._read(path, base, 0, required=False)

    # -- what the blocks see so far ---------------------------------------------------

    def _hostname(self) -> str:
        return str(self.options.get("hostname", self.original))

    def _user(self) -> str:
        return self.forced_user or str(self.options.get("user") or getpass.getuser())

    def _read(self, path: str, base: str, depth: int, required: bool) -> None:
        if depth > MAX_INCLUDE_DEPTH:
            raise ConnectError(f"ssh_config: Include nested too deep at {path}")
        try:
            lines = parsed_file(path)
        except FileNotFoundError:
            if required:
                raise ConnectError(f"ssh_config file not found: {path}")
            return
        except OSError as error:
            raise ConnectError(f"cannot read ssh_config {path}: {error.strerror or error}")
        active = True
        for number, keyword, words in lines:
            if keyword == "host":
                active = pattern_list_matches(words, self.original)
            elif keyword == "match":
                active = self._match(words, f"{path}:{number}")
            elif not active:
                continue
            elif keyword == "include":
                for word in words:
                    pattern = os.path.expanduser(word)
                    if not os.path.isabs(pattern):
                        pattern = os.path.join(base, pattern)
                    for included in included_files(pattern):
                        self._read(included, base, depth + 1, required=False)
            elif not words:
                raise ConnectError(f"ssh_config {path}:{number}: {keyword} needs a value")
            elif keyword in MULTI:
                self.options.setdefault(keyword, []).append(" ".join(words))
            elif keyword not in self.options:
                self.options[keyword] = list(words) if keyword in WORDS else " ".join(words)

    def _match(self, words: list[str], where: str) -> bool:
        """`Match` criteria, all of which must hold; `!` negates one."""
        index = 0
        result = True
        while index < len(words):
            criterion = words[index].lower()
            negated = criterion.startswith("!")
            criterion = criterion.lstrip("!")
            if criterion in ("all", "canonical", "final"):
                ok = criterion == "all"
                index += 1
            else:
                if index + 1 >= len(words):
                    raise ConnectError(f"ssh_config {where}: Match {criterion} needs patterns")
                patterns = words[index + 1].split(",")
                index += 2
                if criterion == "host":
                    ok = pattern_list_matches(patterns, self._hostname())
                elif criterion == "originalhost":
                    ok = pattern_list_matches(patterns, self.original)
                elif criterion == "user":
                    ok = pattern_list_matches(patterns, self._user())
                elif criterion == "localuser":
                    ok = pattern_list_matches(patterns, getpass.getuser())
                else:
                    raise ConnectError(f"ssh_config {where}: Match {criterion} is not supported")
            result = result and (ok != negated)
        return result

    # -- reading values ---------------------------------------------------------------

    def get(self, keyword: str, default=None):
        return self.options.get(keyword.lower(), default)

    def flag(self, keyword: str) -> bool | None:
        value = self.get(keyword)
        if value is None:
            return None
        return str(value).lower() in ("yes", "true")


def expand_tokens(value: str, hostname: str, port: int, user: str, original: str) -> str:
    """ssh_config(5)'s TOKENS that make sense here, and a leading ~."""
    table = {
        "h": hostname,
        "p": str(port),
        "r": user,
        "u": getpass.getuser(),
        "n": original,
        "d": os.path.expanduser("~"),
        "l": socket.gethostname().split(".")[0],
        "L": socket.gethostname().split(".")[0],
        "%": "%",
    }
    out = []
    index = 0
    while index < len(value):
        char = value[index]
        if char == "%" and index + 1 < len(value):
            token = value[index + 1]
            if token not in table:
                raise ConnectError(f"ssh_config: unknown token %{token} in {value!r}")
            out.append(table[token])
            index += 2
            continue
        out.append(char)
        index += 1
    result = "".join(out)
    return os.path.expanduser(result) if result.startswith("~") else result
