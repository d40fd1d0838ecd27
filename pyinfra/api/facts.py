"""Facts: small classes naming the command that reads something from a host and how
to turn its output into a value. Read through `host.fact.name` or `host.fact.name(arg)`.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import logging
import re
from typing import Any, NamedTuple

from pyinfra.api.command import Identity, quote
from pyinfra.api.exceptions import FactCommandError, FactError
from pyinfra.api.secrets import MASK, Secret

logger = logging.getLogger("pyinfra")

FACTS: dict[str, type["FactBase"]] = {}

# The line a fact's command prints, alone and exiting 0, to say "the thing is not there":
# the fact is then its default. Any other outcome that is not a success is an error,
# so a path the login may not read is never taken for an absent one.
ABSENT = "__pyinfra_fact_absent__"

# Seconds a fact's command may take (a host that stops answering fails sooner: see the
# connector's keepalive check).
FACT_TIMEOUT = 300


@functools.lru_cache(maxsize=None)
def signature(command) -> inspect.Signature:
    """The signature of a fact's `command(self, ...)`, worked out once per fact."""
    return inspect.signature(command)


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# (fact class, number of arguments) that its command's signature accepts: checked once,
# not for every host (binding a signature costs more than making the command).
ACCEPTED: set[tuple[type, int]] = set()


class FactBase:
    """A fact: `command` (a string, or a method taking the fact's arguments) and
    `process(output_lines)`. `default` is the value when the command says the thing
    is absent (it prints ABSENT); `requires_command` names a program whose absence
    means "absent". A command that fails, or output `process` cannot read, is an
    error, never the default."""

    name: str = ""
    default: Any = None
    requires_command: str | None = None
    # Facts taking the same arguments that operations usually read next: they are read
    # in the same round trip and cached (sha1_file -> file for uploads).
    prefetch: tuple[str, ...] = ()

    # Set True in a fact of your own to replace the fact of the same name on purpose.
    override: bool = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract"):
            return
        cls.name = snake_case(cls.__name__)
        if not cls.__module__.startswith("pyinfra.facts."):
            load_all_facts()  # the built-in facts first: a clash shows now, not later
        known = FACTS.get(cls.name)
        if known is not None and not cls.__dict__.get("override") and not same_class(known, cls):
            raise FactError(
                f"fact {cls.name} is already defined ({known.__module__}.{known.__qualname__}): "
                f"give class {cls.__name__} another name, or set override = True in it to "
                "replace that fact"
            )
        FACTS[cls.name] = cls

    command: Any = None

    @classmethod
    def argument_names(cls) -> list[str]:
        if not callable(cls.command):
            return []
        params = list(signature(cls.command).parameters.values())[1:]
        return [p.name for p in params]

    @classmethod
    def takes_arguments(cls) -> bool:
        return callable(cls.command)

    def make_command(self, *args: Any) -> str:
        if callable(self.command):
            accepted = (type(self), len(args))
            if accepted not in ACCEPTED:
                try:
                    signature(type(self).command).bind(self, *args)
                except TypeError:
                    wanted = ", ".join(self.argument_names())
                    raise FactError(f"fact {self.name} takes ({wanted}), got {len(args)} argument(s)")
                ACCEPTED.add(accepted)
            command = self.command(*args)
        else:
            if args:
                raise FactError(f"fact {self.name} takes no arguments")
            command = self.command
        if self.requires_command:
            # A missing program is a positive answer (no dpkg: no deb packages).
            command = (
                f"if {program_path(self.requires_command)} >/dev/null; then {{ {command}\n}};"
                f" else echo {ABSENT}; fi"
            )
        return command

    def process(self, output: list[str]) -> Any:
        return "\n".join(output)

    def value(self, exit_code: int, output: list[str], stderr: list[str] | None = None) -> Any:
        """The fact's value from a finished command: its default when the command said
        the thing is absent. Raises FactCommandError when the command failed; whatever
        `process` raises on output it does not understand goes through."""
        if exit_code == 0 and output == [ABSENT]:
            return self.default_value()
        if exit_code != 0:
            raise FactCommandError(exit_code, stderr or [])
        return self.process(output)

    def default_value(self) -> Any:
        default = self.default
        return default() if callable(default) else default


def same_class(known: type, new: type) -> bool:
    """The same class defined again: a deploy file runs once per host."""
    return known.__module__ == new.__module__ and known.__qualname__ == new.__qualname__


def program_path(name: str) -> str:
    """Shell code printing the path of program `name` found on the PATH, failing when
    there is none. Not `command -v`: busybox's sh answers it with the bare names of its
    applets, which may not be there to run (Debian's busybox has rpm and dpkg)."""
    if "/" in name:
        path = quote(name)
        return f"{{ [ -f {path} ] && [ -x {path} ] && echo {path}; }}"
    return (
        f'(IFS=:; for d in $PATH; do p="${{d:-.}}"/{quote(name)};'
        ' if [ -f "$p" ] && [ -x "$p" ]; then echo "$p"; exit 0; fi; done; exit 1)'
    )


class FactFailure:
    """Kept in the cache in place of a value the host would not give: every read of
    it fails (the host, or the operation with ignore_errors)."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


def fact_label(name: str, args: tuple) -> str:
    """`file('/etc/hosts')`: the fact as a deploy would read it; a `secret()` argument
    (a password) as ***, however short."""
    return f"{name}({', '.join(MASK if isinstance(a, Secret) else repr(a) for a in args)})" if args else name


class FactKey(NamedTuple):
    """One fact of a host as the fact cache knows it: its name, its arguments and
    whom it is read as (a fact read with sudo may differ from the login's)."""

    name: str
    args: tuple
    identity: Identity

    def sibling(self, name: str) -> FactKey:
        """Another fact with the same arguments, read as the same user."""
        return FactKey(name, self.args, self.identity)

    def label(self) -> str:
        """`file('/etc/hosts') (with sudo)`: the fact as the user reads about it."""
        label = fact_label(self.name, self.args)
        sudo, sudo_user, su_user = self.identity
        if sudo:
            return label + f" (with sudo{' -u ' + sudo_user if sudo_user else ''})"
        if su_user:
            return label + f" (as {su_user})"
        return label


def get_fact_class(name: str) -> type[FactBase]:
    load_all_facts()
    try:
        return FACTS[name]
    except KeyError:
        close = difflib.get_close_matches(name, FACTS, n=3)
        hint = f" (did you mean: {', '.join(close)}?)" if close else ""
        raise FactError(f"unknown fact: {name}{hint}") from None


_loaded = False


def load_all_facts() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib
    import pkgutil

    import pyinfra.facts

    for module in pkgutil.iter_modules(pyinfra.facts.__path__):
        importlib.import_module(f"pyinfra.facts.{module.name}")


class FactProxy:
    """`host.fact`: attribute access reads a fact for one host through the State."""

    def __init__(self, host):
        self._host = host

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        cls = get_fact_class(name)
        if cls.takes_arguments():
            return _FactCall(self._host, name)
        return self._host.get_fact(name)

    def __dir__(self):
        load_all_facts()
        return sorted(FACTS)


class _FactCall:
    def __init__(self, host, name: str):
        self._host = host
        self._name = name

    def __call__(self, *args: Any) -> Any:
        return self._host.get_fact(self._name, *args)

    def __repr__(self) -> str:
        return f"<fact {self._name}: call it with its arguments>"


def get_facts(
    state,
    name: str,
    args: tuple | list | None = None,
    sudo: bool = False,
    sudo_user: str | None = None,
    su_user: str | None = None,
) -> dict[str, Any]:
    """One fact of every connected host of the state, read at once (pyinfra 0.1's API):
    {host name: value}. Read as the login user, or with `sudo` (as `sudo_user`) or
    through `su_user`; the config's SUDO, SUDO_USER and SU_USER when not given. A host
    whose read fails is failed (its error in `state.results`) and left out.
    Raises FactError for an unknown fact or wrong arguments."""
    from pyinfra.api.parallel import map_hosts

    args = tuple(args or ())
    get_fact_class(name)().make_command(*args)  # an unknown fact or bad arguments: raise
    state.check_connected("get_facts")
    config = state.config
    identity = {
        "sudo": sudo or config.SUDO,
        "sudo_user": sudo_user or config.SUDO_USER,
        "su_user": su_user or config.SU_USER,
    }
    hosts = state.active_hosts()

    def read(host) -> tuple[bool, Any]:
        try:
            return True, state.facts.get(host, name, args, identity)
        except FactError:
            return False, None  # the host is failed and says why

    values = map_hosts(config.PARALLEL, hosts, read)
    return {host.name: value for host, (ok, value) in zip(hosts, values) if ok}
