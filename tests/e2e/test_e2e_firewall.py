"""iptables.chain and iptables.rule end to end: the real `pyinfra` command, logged in
as a non-root sudoer with sudo=True, against this machine's real iptables. Everything
happens in private chains no built-in chain jumps to, so no packet meets the rules;
they are removed afterwards whatever happens."""

import subprocess
import uuid

import pytest
from support import users
from support.packages import IPTABLES_PARTS, ensure_packages
from test_e2e_modules import applied, unchanged


def rules(program, chain):
    """`iptables -S chain` lines without the -N line, or None when there is no chain."""
    result = subprocess.run([program, "-w", "-S", chain], capture_output=True, text=True)
    if result.returncode != 0:
        return None
    return [line for line in result.stdout.splitlines() if not line.startswith("-N ")]


@pytest.fixture
def chains():
    """Two fresh chain names (iptables and ip6tables), removed after the test."""
    ensure_packages(IPTABLES_PARTS)
    tag = uuid.uuid4().hex[:8].upper()
    names = (f"PYINFRA-T-{tag}", f"PYINFRA-T-{tag}-J")
    yield names
    for program in ("iptables", "ip6tables"):
        for name in names:
            subprocess.run([program, "-w", "-F", name], capture_output=True)
        for name in names:
            subprocess.run([program, "-w", "-X", name], capture_output=True)


DEPLOY = """
from pyinfra.modules import iptables
present = {present!r}
main, jumped = {main!r}, {jumped!r}
if present:
    iptables.chain(main, sudo=True)
    iptables.chain(jumped, sudo=True)
    iptables.chain(main, version=6, sudo=True)
# Written otherwise than iptables prints them: a service name, a host address in a
# network, a comment with spaces and a quote.
iptables.rule(main, 'ACCEPT', protocol='tcp', destination_port='ssh', source='10.1.2.3/8',
              present=present, sudo=True)
iptables.rule(main, 'DROP', extras="-m comment --comment \\"it's a test\\"", present=present,
              sudo=True)
iptables.rule(main, jumped, in_interface='lo', append=False, present=present, sudo=True)
iptables.rule(main, 'DROP', source='2001:db8::/32', version=6, present=present, sudo=True)
if not present:
    iptables.chain(main, present=False, sudo=True)
    iptables.chain(jumped, present=False, sudo=True)
    iptables.chain(main, version=6, present=False, sudo=True)
"""


def test_chains_and_rules_present_then_absent(pyinfra_as, deploy_dir, chains):
    main, jumped = chains
    root = deploy_dir(
        {
            "present.py": DEPLOY.format(present=True, main=main, jumped=jumped),
            "absent.py": DEPLOY.format(present=False, main=main, jumped=jumped),
        }
    )
    run = pyinfra_as(users.SUDO)
    first = applied(run("127.0.0.2", "present.py", cwd=root))
    assert "7 operations, 7 changed" in first.output, first.output
    assert rules("iptables", main) == [
        # append=False: first in the chain.
        f"-A {main} -i lo -j {jumped}",
        f"-A {main} -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT",
        # iptables prints the quote escaped.
        f'-A {main} -m comment --comment "it\\\'s a test" -j DROP',
    ]
    assert rules("iptables", jumped) == []
    assert rules("ip6tables", main) == [f"-A {main} -s 2001:db8::/32 -j DROP"]
    # iptables -C finds every rule however it was written: nothing is added twice.
    unchanged(run("127.0.0.2", "present.py", cwd=root))
    assert len(rules("iptables", main)) == 3

    # A rule gone by hand is put back, and only it.
    subprocess.run(["iptables", "-w", "-D", main, "-i", "lo", "-j", jumped], check=True)
    again = applied(run("127.0.0.2", "present.py", cwd=root))
    assert "7 operations, 1 changed" in again.output, again.output
    assert rules("iptables", main)[0] == f"-A {main} -i lo -j {jumped}"

    gone = applied(run("127.0.0.2", "absent.py", cwd=root))
    assert "7 operations, 7 changed" in gone.output, gone.output
    assert rules("iptables", main) is None and rules("iptables", jumped) is None
    assert rules("ip6tables", main) is None
    unchanged(run("127.0.0.2", "absent.py", cwd=root))


def test_a_rule_iptables_cannot_read_fails_the_host(pyinfra_as, deploy_dir, chains):
    """The rule's fact fails closed: an unknown option is an error before anything
    runs, never an "absent" rule added on every deploy."""
    main, _ = chains
    root = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import iptables
            iptables.chain({main!r}, sudo=True)
            iptables.rule({main!r}, 'ACCEPT', extras='--no-such-option', sudo=True)
            """
        }
    )
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode != 0, result.output
    assert 'unknown option "--no-such-option"' in result.output, result.output
    assert "Traceback" not in result.output
    assert rules("iptables", main) is None


def test_without_sudo_the_firewall_is_not_read_as_empty(pyinfra_as, deploy_dir, chains):
    """A login that may not read the rules fails; it is never told the rule is absent."""
    root = deploy_dir(
        {
            "deploy.py": """
            from pyinfra.modules import iptables
            iptables.rule('INPUT', 'ACCEPT', source='192.0.2.7', present=False)
            """
        }
    )
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode != 0, result.output
    assert "you must be root" in result.output, result.output
