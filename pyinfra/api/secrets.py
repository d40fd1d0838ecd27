"""Secret values: which they are, and hiding them in everything the tool shows.

A value is secret when it sits under a data name containing one of SECRET_WORDS (at
any depth: everything under such a name is secret), or when it was wrapped with
`secret()`. Secret values are collected here, for the whole process: a secret is a
property of the value, wherever it goes. The CLI masks every line it prints with
`mask_text`, and shows secret data as `***` with `mask_value`.

Values travel to the screen in other forms than their own: quoted for the shell
(`pyinfra.api.command.quote`, once or nested in `sh -c '...'`), in Python's repr, in
JSON. `mask_text` hides those forms too.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Mapping

from pyinfra.api.quoting import quote

# A data name containing one of these (case-insensitive) holds a secret.
SECRET_WORDS = ("password", "passwd", "secret", "token", "private_key")
# The connection's own passwords (the words above cover them; named for clarity).
SECRET_KEYS = frozenset({"ssh_password", "ssh_key_password", "sudo_password"})
MASK = "***"
# Shorter values are not looked for in text: masking every "1" or "yes" in the output
# would garble it, and where the *** stood would give the value away anyway. Data
# displays (--debug-data) still show them as ***.
MIN_TEXT_LENGTH = 4
# How deep a value may be nested in shell quoting (a quoted word inside a quoted
# `sh -c` command inside another) and still be recognised.
QUOTE_DEPTH = 3


class Secret(str):
    """A string that is a secret: it works as the plain string everywhere (str
    methods, f-strings, jinja2 templates, shell commands), and the tool never shows
    it, nor anything made from it that still contains it."""

    __slots__ = ()

    def __new__(cls, value: object = "") -> Secret:
        made = super().__new__(cls, value)
        register(made)
        return made


def secret(value: Any) -> Any:
    """Mark a value as secret: `db_password = secret('...')`, `api = secret(value)`.

    A string comes back as a `Secret` (still a str); other values (numbers, lists,
    dicts of strings) come back as they are, their contents registered as secret."""
    if isinstance(value, str):
        return value if isinstance(value, Secret) else Secret(value)
    register(value)
    return value


def is_secret_key(key: Any) -> bool:
    """True when a data name says its value is secret."""
    return _secret_name(str(key))


@functools.lru_cache(maxsize=4096)
def _secret_name(name: str) -> bool:
    # Asked for every keyword argument of every operation on every host: a deploy has
    # few names, asked many times.
    name = name.lower()
    return name in SECRET_KEYS or any(word in name for word in SECRET_WORDS)


# -- the values known to be secret ---------------------------------------------------

_values: set[str] = set()


def register(value: Any) -> None:
    """Remember a value (and everything inside it) as secret."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, (str, int, float)):
        text = str(value)
        if text:
            _values.add(text)
    elif isinstance(value, Mapping):
        for item in value.values():
            register(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            register(item)


def register_data(data: Mapping) -> None:
    """Remember the secrets of a data dict: the values under secret names, at any
    depth, and the `secret()` values anywhere in it."""
    for key, value in data.items():
        if is_secret_key(key):
            register(value)
        else:
            _register_marked(value)


def _register_marked(value: Any) -> None:
    if isinstance(value, Mapping):
        register_data(value)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _register_marked(item)
    # A Secret registered itself when it was made.


# -- hiding them ---------------------------------------------------------------------


def quoted_core(text: str) -> str:
    """What of `text` shows verbatim once quote() has quoted a word containing it,
    whatever surrounds it: quoting splits a word at its single quotes and
    backslashes, so the quote marks at its two ends depend on its neighbours."""

    quoted = quote(f"Q9{text}Z8")
    if not (quoted.startswith("'Q9") and quoted.endswith("Z8'")):
        return text  # nothing to quote: the word is left as it is
    inner = quoted[len("'Q9") : -len("Z8'")]
    if inner.startswith("'"):
        inner = inner[1:]
    if inner.endswith("'"):
        inner = inner[:-1]
    return inner


def shown_forms(value: str) -> set[str]:
    """The ways `value` can be written out: as is, escaped by shell quoting at each
    depth (quote() only changes single quotes inside the word), by repr and by JSON."""
    shell = [value]
    for _ in range(QUOTE_DEPTH):
        shell.append(quoted_core(shell[-1]))
    forms = set()
    for form in shell:
        # Each also as a Python string literal or a JSON string writes it (an
        # operation's name shows its non-string arguments by their repr).
        forms.update((form, repr(form)[1:-1], json.dumps(form)[1:-1]))
        forms.add(json.dumps(form, ensure_ascii=False)[1:-1])
    if "\n" in value:
        # A multi-line secret (a private key) may be shown a line at a time.
        forms.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 8)
    return {form for form in forms if len(form) >= MIN_TEXT_LENGTH}


_pattern: re.Pattern | None = None
_pattern_size = -1


def _current_pattern() -> re.Pattern | None:
    global _pattern, _pattern_size
    # Values are only ever added: the count says whether the pattern is current.
    if _pattern_size != len(_values):
        forms = set()
        for value in list(_values):
            if len(value) >= MIN_TEXT_LENGTH:
                forms.update(shown_forms(value))
        # Longest first: a secret containing another is hidden whole.
        ordered = sorted(forms, key=len, reverse=True)
        _pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        _pattern_size = len(_values)
    return _pattern


def mask_text(text: str) -> str:
    """`text` with every secret value, in any of its shown forms, replaced by ***."""
    pattern = _current_pattern()
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def mask_value(key: Any, value: Any) -> Any:
    """What may be shown of the data value `value` named `key`: *** when it is
    secret; inside dicts and lists, the secret parts as ***."""
    if value is None or value == "" or isinstance(value, bool):
        return value
    if is_secret_key(key):
        return MASK
    return mask_data(value)


def mask_data(value: Any) -> Any:
    """A copy of `value` (dicts, lists, strings...) with secret parts shown as ***:
    values under secret names, `secret()` values, and secret text inside strings."""
    if isinstance(value, Mapping):
        return {key: mask_value(key, item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_data(item) for item in value]
    return mask_shown(value)


def mask_shown(value: Any) -> Any:
    """A copy of a structure about to be shown (JSON output) with secret values, and
    secret text inside its strings, as ***. Unlike mask_data, the names of its keys
    do not count: they are the tool's own labels."""
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {mask_shown(key): mask_shown(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_shown(item) for item in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = str(value)
        if len(text) >= MIN_TEXT_LENGTH and text in _values:
            return MASK
    return value


class MaskedStream:
    """A text stream that masks secrets in what is written to it, for writers that
    do not go through the CLI's printer (gevent's report of a greenlet's error)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(mask_text(text))

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str):
        return getattr(self.stream, name)
