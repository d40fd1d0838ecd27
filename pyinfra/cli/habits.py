"""pyinfra 3 spellings a user may bring along, answered with this version's: each
stops the run with one line saying what to write instead (a usage error)."""

from __future__ import annotations

import difflib
import os
import re
import shlex

from pyinfra.api.exceptions import UsageError
from pyinfra.api.facts import FACTS, load_all_facts


def check_words(words: list[str]) -> None:
    """`pyinfra INVENTORY exec -- COMMAND` and `pyinfra INVENTORY fact NAME` are
    pyinfra 3's subcommands; a deploy file of that name still runs as one."""
    if len(words) < 1 or os.path.exists(words[0]):
        return
    verb, rest = words[0], words[1:]
    if verb == "exec":
        command = " ".join(rest) or "COMMAND"
        raise UsageError(f"`exec` is pyinfra 3's form: use `--run {shlex.quote(command)}`")
    if verb == "fact" and rest:
        wanted = " ".join(f"--fact {our_fact_spec(spec) or spec}" for spec in rest)
        raise UsageError(f"`fact` is pyinfra 3's form: use `{wanted}`")


def our_fact_spec(spec: str) -> str | None:
    """`server.Os` -> `os`, `files.File:/etc/hosts` -> `file:/etc/hosts`: pyinfra 3's
    `module.ClassName` as this version's fact name, None when `spec` is not of that
    form. An unknown class gives the closest of our names."""
    name, sep, args = spec.partition(":")
    module, dot, cls = name.rpartition(".")
    if not dot or not module or not cls[:1].isupper():
        return None
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls).lower()
    load_all_facts()
    if snake not in FACTS:
        close = difflib.get_close_matches(snake, FACTS, n=1)
        if not close:
            return None
        snake = close[0]
    return snake + sep + args


def check_fact(spec: str) -> None:
    ours = our_fact_spec(spec)
    if ours is not None:
        raise UsageError(f"--fact {spec} is pyinfra 3's spelling: did you mean `--fact {ours}`?")
