"""Reading facts: every fact a host's operations need, read in one round trip per host
(and per user they are read as), its value cached for the run."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from pyinfra.api import context
from pyinfra.api.command import Identity, RunAs
from pyinfra.api.exceptions import FactCommandError, FactError, FactIgnoredError
from pyinfra.api.facts import (
    FACT_TIMEOUT,
    FactBase,
    FactFailure,
    FactKey,
    fact_label,
    get_fact_class,
)

logger = logging.getLogger("pyinfra")


class FactCache:
    """Fact values per host, read once per (fact, arguments, user) and kept for the run.

    During the build (api/build/builder.py) every host's deploy runs in its own greenlet; a fact
    read there waits while the other hosts reach their next fact too, and then all
    hosts' requests are read at once, one round trip per host."""

    def __init__(self, state):
        self.state = state
        self.values: dict[Any, dict[FactKey, Any]] = {}

    def get(self, host, name: str, args: tuple, as_user: dict[str, Any] | None = None) -> Any:
        """The fact's value on `host`, read as the operation being made there reads
        (its sudo, sudo_user, su_user), or as `as_user` says; inside a build, read in
        its next round trip with every other fact waited for."""
        state = self.state
        making = context.making_for(host)
        kwargs = as_user if as_user is not None else (making.kwargs if making else {})
        config = state.config
        sudo = bool(kwargs.get("sudo", config.SUDO))
        sudo_user = kwargs.get("sudo_user", config.SUDO_USER) if sudo else None
        su_user = kwargs.get("su_user", config.SU_USER)
        key = FactKey(name, args, Identity(sudo, sudo_user, su_user))
        cached = self.values.setdefault(host, {})
        if key not in cached:
            build = context.build_for(host)
            if build is not None:
                value = build.request(host, key, lambda: self.make_request(host, key))
            else:
                value = self.read_many([self.make_request(host, key)])[0]
            cached[key] = value
        if state.results[host].failed:
            raise FactError(f"cannot read fact {name} on {host.name}: {state.results[host].error}")
        if making is not None and key not in making.reads:
            making.reads.append(key)
        return self._checked(host, cached[key], kwargs)

    @staticmethod
    def make_request(host, key: FactKey) -> "FactRequest":
        fact = get_fact_class(key.name)()
        command = fact.make_command(*key.args)  # checks the arguments
        companions = []
        for other_name in fact.prefetch:
            other = get_fact_class(other_name)()
            companions.append((other, other.make_command(*key.args), key.sibling(other_name)))
        return FactRequest(host, fact, command, key, companions)

    def refresh(self, host, keys: list[FactKey]) -> None:
        """Read these facts of `host` again (one round trip per user they are read as),
        after an earlier operation of the run may have changed them."""
        known = self.values.setdefault(host, {})
        for key in keys:
            known.pop(key, None)
            for other_name in get_fact_class(key.name).prefetch:
                known.pop(key.sibling(other_name), None)
        if keys:
            self.read_many([self.make_request(host, key) for key in keys])

    def get_many(self, hosts, name: str, args: tuple) -> None:
        """Read one fact on many hosts at once (for --fact and API users)."""
        from pyinfra.api.parallel import map_hosts

        def read(host):
            try:
                self.get(host, name, args)
            except FactError:
                pass  # the host is failed and says why

        map_hosts(self.state.config.PARALLEL, hosts, read)

    def read_many(self, requests: list["FactRequest"]) -> list[Any]:
        """Read facts of one host, with their companions, in one round trip per user
        they are read as; return their values. Every value read goes into the cache."""
        host = requests[0].host
        known = self.values.setdefault(host, {})
        groups: dict[Identity, dict[FactKey, tuple[FactBase, str]]] = {}
        for request in requests:
            parts = groups.setdefault(request.key.identity, {})
            parts.setdefault(request.key, (request.fact, request.command))
        for request in requests:
            parts = groups[request.key.identity]
            for other, command, key in request.companions:
                if key not in known and key not in parts:
                    parts[key] = (other, command)
        for identity, parts in groups.items():
            self._read_parts(host, identity, parts)
        return [known[request.key] for request in requests]

    def read_later(self, host, keys: list[FactKey], identity: Identity):
        """A command reading those of these facts that are read as `identity`, for the
        caller to send behind commands of its own, and `done(result)`, which caches
        what the command's result says and returns the keys it read. Nothing is
        cached from a missing or partial result: those facts are read as usual."""
        parts: dict[FactKey, tuple[FactBase, str]] = {}
        for key in keys:
            if key.identity != identity:
                continue
            request = self.make_request(host, key)
            parts.setdefault(key, (request.fact, request.command))
            for other, command, other_key in request.companions:
                parts.setdefault(other_key, (other, command))
        if not parts:
            return None
        items = list(parts.items())
        separator = f"__pyinfra_fact_{uuid.uuid4().hex}__"

        def done(result) -> list[FactKey]:
            if result is None or result.timed_out or getattr(result.stdout, "dropped", 0):
                return []
            if not self._split(host, items, separator, result):
                return []
            return [key for key, _ in items]

        return combined(items, separator), done

    def _read_parts(self, host, identity: Identity, parts: dict[FactKey, tuple["FactBase", str]]) -> None:
        known = self.values.setdefault(host, {})
        items = list(parts.items())
        names = ", ".join(fact.name for fact, _ in parts.values())
        logger.debug("[%s] reading fact(s) %s", host.name, names)
        separator = f"__pyinfra_fact_{uuid.uuid4().hex}__"
        if len(items) == 1:
            command = items[0][1][1]
        else:
            command = combined(items, separator)
        result = self._run(host, identity, command, names)
        if result is not None and getattr(result.stdout, "dropped", 0):
            if len(items) > 1:  # too much together: each on its own may fit
                for key, part in items:
                    self._read_parts(host, identity, {key: part})
                return
            self.state.fail_host(host, f"fact {names}: output too large to read whole")
            result = None
        if result is not None and len(items) == 1:
            key, (fact, _) = items[0]
            known[key] = self._value(host, fact, key, result.exit_code, result.stdout, result.stderr)
            return
        if result is not None and not self._split(host, items, separator, result):
            self.state.fail_host(host, f"fact(s) {names}: output cut short")
            result = None
        if result is None:
            for key, (fact, _) in items:
                # The host is failed and says why; nothing built from this is run.
                known[key] = FactFailure(f"fact {fact_label(key.name, key.args)}: not read")

    def _split(self, host, items: list, separator: str, result) -> bool:
        """Cache each part's value from the result of `combined(items, separator)`;
        False (nothing cached) when the output was cut short."""
        outputs = split_outputs(result.stdout, separator)
        if len(outputs) != len(items):
            return False
        errors = [lines for _, lines in split_outputs(result.stderr, separator, stderr=True)]
        known = self.values.setdefault(host, {})
        for index, (key, (fact, _)) in enumerate(items):
            code, lines = outputs[index]
            stderr = errors[index] if index < len(errors) else []
            known[key] = self._value(host, fact, key, code, lines, stderr)
        return True

    def _run(self, host, identity: Identity, command: str, names: str):
        """The command's result, or None when the host failed (and is marked so)."""
        from pyinfra.api.exceptions import ConnectError

        connecting = self.state.connecting.get(host)
        if connecting is not None:
            connecting.wait()  # read as soon as the host is connected (or failed)
        if not host.connected:
            return None
        sudo, sudo_user, su_user = identity
        connector = host.connector
        connector.quiet = not self.state.show_fact_output
        try:
            result = connector.run_shell_command(
                command, run_as=RunAs(bool(sudo), sudo_user, su_user, timeout=FACT_TIMEOUT)
            )
        except ConnectError as error:
            self.state.fail_host(host, str(error))
            return None
        finally:
            connector.quiet = False
        if result.timed_out:
            # Never guess: a fact taken as absent would make operations act on it.
            self.state.fail_host(host, f"fact {names} did not answer within {FACT_TIMEOUT}s")
            return None
        if not result.ok and sudo_failed(result):
            self.state.fail_host(host, "sudo failed: " + " ".join(result.stderr).strip())
            return None
        return result

    def _value(
        self, host, fact: FactBase, key: FactKey, exit_code: int, lines: list[str], stderr: list[str]
    ) -> Any:
        """The fact's value, or a FactFailure saying why the host did not give one."""
        label = key.label()
        try:
            return fact.value(exit_code, lines, stderr)
        except FactCommandError as error:
            message = f"fact {label} failed: {error}"
        except Exception as error:  # a parser meeting output it does not know
            message = f"fact {label}: output not understood ({type(error).__name__}: {error})"
        logger.debug("[%s] %s", host.name, message)
        return FactFailure(message)

    def _checked(self, host, value: Any, kwargs: dict[str, Any]) -> Any:
        """`value`, unless it is a failure: then the host fails, or only the operation
        reading it when that has ignore_errors (FactIgnoredError)."""
        if not isinstance(value, FactFailure):
            return value
        if kwargs.get("ignore_errors"):
            raise FactIgnoredError(value.message)
        self.state.fail_host(host, value.message)
        raise FactError(value.message)


def combined(items: list, separator: str) -> str:
    """One command reading several facts ((key, (fact, command)) items). Each part's
    exit status follows its output; a line on stderr ends its messages, so an error
    names what its own command said."""
    return "\n".join(
        f'{{ {part}\n}}; echo "{separator} $?"; echo "{separator} -" >&2' for _, (_, part) in items
    )


def split_outputs(lines: list[str], separator: str, stderr: bool = False) -> list[tuple[int, list[str]]]:
    """Cut combined output at separator lines: "<separator> <status>" on stdout,
    "<separator> -" on stderr. On a terminal both streams arrive as one: stdout's
    cut ignores stderr's separators."""
    outputs: list[tuple[int, list[str]]] = []
    current: list[str] = []
    for line in lines:
        index = line.find(separator)
        if index < 0:
            current.append(line)
            continue
        if index > 0:
            current.append(line[:index])  # output that did not end with a newline
        status = line[index + len(separator) :].strip()
        if status == "-" and not stderr:
            continue
        try:
            code = int(status)
        except ValueError:
            code = -1
        outputs.append((code, current))
        current = []
    return outputs


class FactRequest:
    """One fact to read on one host (its FactKey); `companions` are (fact, command,
    key) read in the same round trip."""

    __slots__ = ("host", "fact", "command", "key", "companions")

    def __init__(self, host, fact, command, key, companions=()):
        self.host = host
        self.fact = fact
        self.command = command
        self.key = key
        self.companions = companions


def sudo_failed(result) -> bool:
    """sudo refused before running anything (needs a password, not allowed, missing)."""
    return any(
        line.startswith("sudo:") or "sudo: not found" in line or line.startswith("Sorry, try again")
        for line in result.stderr[:5]
    )
