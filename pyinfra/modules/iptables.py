"""The Linux firewall: iptables (and ip6tables) chains and rules.

Changing the firewall needs root: give these operations ``sudo=True`` when logging in
as another user. Rules are compared by iptables itself (``iptables -C``), so a rule is
added once however it is written (``--dport ssh`` is ``--dport 22``, ``10.1.2.3/8``
is ``10.0.0.0/8``). Rules are not saved across reboots: that is the job of the
system's own tool (``netfilter-persistent save``, ``iptables-save``).
"""

from __future__ import annotations

import re
import shlex

from pyinfra.api import OperationError, operation, quote
from pyinfra.modules import unknown_operation

TABLES = ("filter", "nat", "mangle", "raw", "security")
BUILTIN_CHAINS = ("INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING")
POLICIES = ("ACCEPT", "DROP")
# The kernel keeps 29 bytes for a chain's name, its terminating NUL included.
NAME = re.compile(r"[A-Za-z0-9_.:+-]{1,28}")
PORT = re.compile(r"[A-Za-z0-9_-]+(:[A-Za-z0-9_-]+)?")


def program(version) -> str:
    if version in (4, "4"):
        return "iptables"
    if version in (6, "6"):
        return "ip6tables"
    raise OperationError(f"version must be 4 (iptables) or 6 (ip6tables), not {version!r}")


def check_table(table) -> str:
    if table not in TABLES:
        raise OperationError(f"table must be one of {', '.join(TABLES)}, not {table!r}")
    return table


def check_name(value, label: str) -> str:
    value = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not NAME.fullmatch(value) or value[0] in "-!":
        raise OperationError(f"{label} must be 1 to 28 letters, digits and _.:+- (not {value!r})")
    return value


def fact_names(version) -> tuple[str, str]:
    prefix = program(version)
    return f"{prefix}_chains", f"{prefix}_rule"


@operation
def chain(state, host, chain, present=True, table="filter", policy=None, version=4):
    """Add or remove an iptables chain, or set a built-in chain's policy.

    + chain: the chain's name (a built-in one like ``INPUT`` for a policy)
    + present: whether the chain should exist; removing one first removes its rules
      (``-F``), and fails when a rule elsewhere still jumps to it
    + table: the table it belongs to: filter, nat, mangle, raw or security
    + policy: ``ACCEPT`` or ``DROP``, the policy of a built-in chain
    + version: 4 for iptables, 6 for ip6tables
    """
    command = f"{program(version)} -w -t {quote(check_table(table))}"
    name = check_name(chain, "chain")
    if policy is not None and policy not in POLICIES:
        raise OperationError(f"policy must be ACCEPT or DROP, not {policy!r}")
    chains = getattr(host.fact, fact_names(version)[0])(table) or {}
    builtin = name in BUILTIN_CHAINS or chains.get(name) is not None
    if not present:
        if builtin:
            raise OperationError(f"{name} is a built-in chain: it cannot be removed")
        if policy is not None:
            raise OperationError("policy is for a chain that is present")
        if name in chains:
            yield f"{command} -F {quote(name)}"
            yield f"{command} -X {quote(name)}"
        return
    if policy is not None and not builtin:
        raise OperationError(f"only built-in chains have a policy, {name} is not one")
    if not builtin and name not in chains:
        yield f"{command} -N {quote(name)}"
    if policy is not None and chains.get(name) != policy:
        yield f"{command} -P {quote(name)} {policy}"


def word_list(extras) -> list[str]:
    if extras is None:
        return []
    if isinstance(extras, str):
        try:
            return shlex.split(extras)
        except ValueError as error:
            raise OperationError(f"extras {extras!r} are not shell words: {error}") from None
    if isinstance(extras, (list, tuple)) and all(isinstance(w, (str, int)) for w in extras):
        return [str(w) for w in extras]
    raise OperationError(f"extras must be a string or a list of words, not {extras!r}")


def port(value, label: str) -> str:
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not PORT.fullmatch(text):
        raise OperationError(
            f"{label} must be a port, a service name or a range like 8000:8080, not {value!r}"
        )
    return text


def target_options(jump, table, to_destination, to_source, to_ports, log_prefix) -> list[str]:
    """The words after ``-j TARGET``, each checked against the target it belongs to."""
    words = []
    for value, option, wanted_jump, wanted_table in (
        (to_destination, "--to-destination", "DNAT", "nat"),
        (to_source, "--to-source", "SNAT", "nat"),
        (to_ports, "--to-ports", "REDIRECT", "nat"),
        (log_prefix, "--log-prefix", "LOG", None),
    ):
        if value is None:
            continue
        if jump != wanted_jump or (wanted_table and table != wanted_table):
            where = f" in the {wanted_table} table" if wanted_table else ""
            raise OperationError(f"{option[2:].replace('-', '_')} goes with jump={wanted_jump}{where}")
        words += [option, str(value)]
    return words


@operation
def rule(
    state,
    host,
    chain,
    jump,
    present=True,
    table="filter",
    append=True,
    version=4,
    protocol=None,
    source=None,
    destination=None,
    in_interface=None,
    out_interface=None,
    source_port=None,
    destination_port=None,
    to_destination=None,
    to_source=None,
    to_ports=None,
    log_prefix=None,
    extras=None,
):
    """Add or remove an iptables rule: nothing is done when the chain already holds
    the very rule (as ``iptables -C`` finds it), wherever it is in the chain.

    + chain: the chain the rule is in (it may be made by an ``iptables.chain`` just
      before)
    + jump: the rule's target: ``ACCEPT``, ``DROP``, ``REJECT``, ``LOG``, a chain...
    + present: whether the rule should be there
    + table: the table of the chain: filter, nat, mangle, raw or security
    + append: add a new rule at the end of the chain (``-A``); False puts it first
      (``-I``)
    + version: 4 for iptables, 6 for ip6tables
    + protocol: match this protocol (``tcp``, ``udp``, ``icmp``...)
    + source: match this source address or network (``-s``)
    + destination: match this destination address or network (``-d``)
    + in_interface: match packets coming in on this interface (``-i``)
    + out_interface: match packets going out on this interface (``-o``)
    + source_port: match this source port or range (``--sport``; needs a protocol)
    + destination_port: match this destination port or range (``--dport``; needs a
      protocol)
    + to_destination: with jump ``DNAT`` in the nat table, where to send packets
    + to_source: with jump ``SNAT`` in the nat table, the address to send them from
    + to_ports: with jump ``REDIRECT`` in the nat table, the port(s) to send them to
    + log_prefix: with jump ``LOG``, the prefix of the logged lines
    + extras: more match words, as a string or a list, like
      ``-m conntrack --ctstate NEW`` or ``! -s 10.0.0.1``; they come after the
      matches above and before ``-j``
    """
    command = f"{program(version)} -w -t {quote(check_table(table))}"
    name = check_name(chain, "chain")
    target = check_name(jump, "jump")
    words = []
    for value, option in (
        (protocol, "-p"),
        (source, "-s"),
        (destination, "-d"),
        (in_interface, "-i"),
        (out_interface, "-o"),
    ):
        if value is not None:
            if not isinstance(value, str) or not value or value.split() != [value]:
                raise OperationError(f"{option} takes one word, not {value!r}")
            words += [option, value]
    for value, option in ((source_port, "--sport"), (destination_port, "--dport")):
        if value is not None:
            if protocol is None:
                raise OperationError(f"{option} needs a protocol (protocol='tcp' or 'udp')")
            words += [option, port(value, option[2:])]
    words += word_list(extras)
    words += ["-j", target, *target_options(target, table, to_destination, to_source, to_ports, log_prefix)]

    spec = " ".join(quote(word) for word in words)
    exists = getattr(host.fact, fact_names(version)[1])(table, name, spec)
    if present and not exists:
        yield f"{command} {'-A' if append else '-I'} {quote(name)} {spec}"
    elif not present and exists:
        yield f"{command} -D {quote(name)} {spec}"


__getattr__ = unknown_operation(__name__)
