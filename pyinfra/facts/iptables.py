"""Facts of the Linux firewall: iptables (and ip6tables) chains and rules, per table."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase, quote

# iptables lives in /usr/sbin, which a login's PATH may lack: without this a login
# that forgot sudo would be told "iptables: not found" instead of "must be root".
# A host without iptables is an error, not an empty firewall.
SBIN = 'PATH="$PATH:/usr/sbin:/sbin"'


def rule_words(rule: str) -> list[str]:
    """The words of a rule given as shell words (how iptables.rule passes it). Text
    that does not split is one word: iptables then refuses it, and the fact fails."""
    try:
        return shlex.split(rule)
    except ValueError:
        return [rule]


class IptablesChains(FactBase):
    """The chains of a table (``filter`` when not given): `{chain: policy}`, the policy
    (``ACCEPT``, ``DROP``) of a built-in chain, None for a chain of one's own.
    Reading it needs root; a host without iptables is an error, not an empty firewall."""

    program = "iptables"
    default = dict

    def command(self, table="filter"):
        return f"{SBIN} {self.program} -w -t {quote(table)} -S"

    def process(self, output):
        chains = {}
        for line in output:
            words = line.split()
            if len(words) == 3 and words[0] == "-P":
                chains[words[1]] = words[2]
            elif len(words) == 2 and words[0] == "-N":
                chains[words[1]] = None
        return chains


class Ip6tablesChains(IptablesChains):
    """The ip6tables chains of a table: `{chain: policy}`, as ``iptables_chains``."""

    program = "ip6tables"


class IptablesRules(FactBase):
    """The rules of a table (``filter`` when not given), in order, as ``iptables -S``
    prints them: ``-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT``.
    Reading it needs root."""

    program = "iptables"
    default = list

    def command(self, table="filter"):
        return f"{SBIN} {self.program} -w -t {quote(table)} -S"

    def process(self, output):
        return [line for line in output if line.startswith("-A ")]


class Ip6tablesRules(IptablesRules):
    """The ip6tables rules of a table, as ``iptables_rules``."""

    program = "ip6tables"


class IptablesRule(FactBase):
    """Whether `chain` of `table` holds the rule (its match and target words, as shell
    words: ``-s 10.0.0.1 -j ACCEPT``), as iptables itself compares rules
    (``iptables -C``: ``--dport ssh`` is ``--dport 22``). False when the chain does not
    exist yet, or when the rule jumps to a chain that does not exist yet; a rule
    iptables cannot read is an error. Reading it needs root."""

    program = "iptables"
    default = False

    def command(self, table, chain, rule):
        words = rule_words(rule)
        jump = next((words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-j", "--jump")), "")
        # -C exits 1 saying "Bad rule" when the chain lacks the rule (a missing chain
        # too), 2 for a rule it cannot read, naming a missing jump target that way.
        missing_jump = quote(f"Chain '{jump}' does not exist")
        return (
            f"o=$({SBIN} {self.program} -w -t {quote(table)} -C {quote(chain)}"
            f" {' '.join(quote(w) for w in words)} 2>&1); r=$?;"
            " if [ $r -eq 0 ]; then echo present;"
            ' elif [ $r -eq 1 ] && printf "%s" "$o" | grep -q "Bad rule"; then echo absent;'
            f' elif [ $r -eq 2 ] && [ -n {quote(jump)} ] && printf "%s" "$o" | grep -qF {missing_jump};'
            " then echo absent;"
            ' else printf "%s\\n" "$o" >&2; (exit $r); fi'
        )

    def process(self, output):
        answer = output[-1].strip() if output else ""
        if answer not in ("present", "absent"):
            raise ValueError(f"iptables -C said {output!r}")
        return answer == "present"


class Ip6tablesRule(IptablesRule):
    """Whether an ip6tables chain holds the rule, as ``iptables_rule``."""

    program = "ip6tables"
