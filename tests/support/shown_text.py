"""Reading back what the CLI shows of text with control characters in it
(pyinfra.cli.output.escape_controls): the tests' proof that the shown form is
reversible."""

import re


def unshown(text: str) -> bytes:
    """The bytes a shown line stands for: `\\\\` a backslash, `\\r` a carriage
    return, `\\xNN` the byte NN, `\\uNNNN` that character in UTF-8; any other
    backslash is itself."""
    out = bytearray()
    i = 0
    while i < len(text):
        if text.startswith("\\\\", i):
            out += b"\\"
            i += 2
        elif text.startswith("\\r", i):
            out += b"\r"
            i += 2
        elif re.match(r"\\x[0-9a-f]{2}", text[i : i + 4]):
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        elif re.match(r"\\u[0-9a-f]{4}", text[i : i + 6]):
            out += chr(int(text[i + 2 : i + 6], 16)).encode()
            i += 6
        else:
            out += text[i].encode("utf-8", "surrogateescape")
            i += 1
    return bytes(out)
