"""Quoting one value for a POSIX shell (and fish): what every command interpolating a
value uses, and what api/secrets.py knows secrets are shown as once quoted."""

from __future__ import annotations

import re
from typing import Any

# Characters that never need quoting (shlex's set): such a word is left as it is.
_SAFE = re.compile(r"[\w@%+=:,./-]+", re.ASCII)


def quote(value: Any) -> str:
    r"""Quote one value for a POSIX shell: it always arrives as one literal word.

    The word also means the same to fish, which sshd may run a command through (the
    login shell): fish reads \\ and \' inside single quotes as escapes, POSIX shells do
    not, so backslashes and single quotes go outside the quotes, escaped, where both
    shells read them alike."""
    text = str(value)
    if not text:
        return "''"
    if _SAFE.fullmatch(text):
        return text
    parts = []
    for piece in re.split(r"([\\'])", text):
        if piece in ("\\", "'"):
            parts.append("\\" + piece)
        elif piece:
            parts.append(f"'{piece}'")
    return "".join(parts)

