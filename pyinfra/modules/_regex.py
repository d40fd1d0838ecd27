"""grep's and sed's basic regular expressions, as files.line, files.replace and
files.block meet them: escaping text for them, and reading one in Python (to tell
what a line written would match) where that can be done exactly."""

from __future__ import annotations

import re


def escape_bre(text: str) -> str:
    """`text` as a basic regular expression (grep's) matching exactly itself."""
    return re.sub(r"([\\.*\[\]^$])", r"\\\1", text)


def sed_escape(text: str, newlines: bool = False) -> str:
    """`text` for one side of a sed `s/.../.../` command: bare slashes escaped (escaped
    ones and other backslash sequences kept), newlines escaped in a replacement."""
    out = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            out.append(text[index : index + 2])
            index += 2
            continue
        if char == "/":
            out.append("\\/")
        elif char == "\n" and newlines:
            out.append("\\n")
        else:
            out.append(char)
        index += 1
    return "".join(out)


POSIX_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r" \t\n\r\f\v",
    "blank": r" \t",
    "xdigit": "0-9A-Fa-f",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
}


# GNU's backslash sequences in a BRE, as Python writes them.
BRE_ESCAPES = {"(": "(", ")": ")", "{": "{", "}": "}", "|": "|", "+": "+", "?": "?"}


def bre_to_python(pattern: str) -> str | None:
    """The Python regular expression matching what the BRE `pattern` matches; None for
    one it cannot translate (then nothing is decided from it)."""
    out, index, n = [], 0, len(pattern)
    while index < n:
        char = pattern[index]
        if char == "\\":
            if index + 1 == n:
                return None
            nxt = pattern[index + 1]
            if nxt in BRE_ESCAPES:
                out.append(BRE_ESCAPES[nxt])
            elif nxt.isalnum():
                return None
            else:
                out.append(re.escape(nxt))
            index += 2
        elif char == "[":
            end, body = bracket(pattern, index)
            if end is None:
                return None
            out.append(body)
            index = end
        elif char == "^" and index == 0:
            out.append("^")
            index += 1
        elif char == "$" and index == n - 1:
            out.append("$")
            index += 1
        elif char == "*" and (index == 0 or pattern[index - 1 : index + 1] == "^*"):
            out.append(r"\*")  # a leading star is literal in a BRE
            index += 1
        elif char == "*":
            if not out or out[-1] != "*":  # a** is a*
                out.append(char)
            index += 1
        elif char == ".":
            out.append(char)
            index += 1
        else:
            out.append(re.escape(char))
            index += 1
    python = "".join(out)
    try:
        re.compile(python)
    except re.error:
        return None
    return python


def bracket(pattern: str, start: int) -> tuple[int | None, str]:
    """A bracket expression starting at `start`: (index after it, Python's form)."""
    index = start + 1
    out = ["["]
    if index < len(pattern) and pattern[index] == "^":
        out.append("^")
        index += 1
    first = True
    while index < len(pattern):
        char = pattern[index]
        if char == "]" and not first:
            out.append("]")
            return index + 1, "".join(out)
        if pattern.startswith("[:", index):
            end = pattern.find(":]", index + 2)
            name = pattern[index + 2 : end] if end != -1 else None
            if name not in POSIX_CLASSES:
                return None, ""
            out.append(POSIX_CLASSES[name])
            index = end + 2
        else:
            # Inside brackets a BRE's backslash is literal; Python's is not.
            out.append("\\" + char if char in "\\[]^-" and not (char == "-" and not first) else char)
            index += 1
        first = False
    return None, ""


def unescape_bre(text: str) -> str:
    """`text` with the backslashes that escape a punctuation character removed."""
    return re.sub(r"\\([^A-Za-z0-9])", r"\1", text)

