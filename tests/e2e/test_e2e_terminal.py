"""A hostile host cannot drive the operator's terminal: control characters in what a
host sends (command output, error messages, fact values) reach a real terminal shown
as visible escapes (`\\x1b`, `\\r`, `\\u009b`, ...), never sent; the shown text
reads back to the exact bytes the host sent (docs/cli.md, "Control characters").

The pyinfra command runs with its stdout and stderr on a pseudo-terminal, as an
operator's would be, so it colours and draws its progress line."""

import json
import os
import re
import select
import subprocess
import tempfile
import time
import tty

from conftest import pyinfra_command, write_tree
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.shown_text import unshown

HOST = "127.0.0.2"
# Every byte a terminal may act on: C0 (newline aside: it ends the line), DEL, C1.
CONTROL_BYTES = [b for b in range(0x20) if b != 0x0A] + list(range(0x7F, 0xA0))
# Pieces of remote output: each control byte alone, and what could be confused with
# an escape once shown: backslashes, text that reads like an escape, C1 characters
# as UTF-8 (U+009B, U+0085), other UTF-8, plain text.
PIECES = (
    [bytes([b]) for b in CONTROL_BYTES]
    + [
        b"\\",
        b"\\\\",
        b"\\x1b",
        b"\\u009b",
        b"\\r",
        b"x",
        b"u",
        b"r",
        b"1b",
        b"[31m",
        b"]0;t",
        b"\xc2\x9b",
        b"\xc2\x85",
    ]
    + ["é€".encode(), b"ab", b" "]
)
payloads = st.lists(st.lists(st.sampled_from(PIECES), max_size=12).map(b"".join), min_size=1, max_size=8)

# What our own output may contain that is not plain text: the progress line's clear
# (CR, erase line) and colours (SGR). Nothing else of ESC, BEL, CR or C1 may appear.
CLEAR_LINE = "\r\x1b[K"
COLOURS = re.compile("\x1b\\[[0-9;]*m")
OWN_SEQUENCES = re.compile("\r\x1b\\[K|\x1b\\[[0-9;]*m")
TERMINAL_ACTS_ON = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def printf(data: bytes) -> str:
    """A printf format writing exactly `data`: every byte but letters and digits in
    octal, so the deploy file and the command itself hold no control character."""
    return "".join(chr(b) if chr(b).isalnum() and b < 0x80 else f"\\{b:03o}" for b in data)


def run_on_terminal(port, home, args, cwd) -> tuple[int, bytes]:
    """Run pyinfra with stdout and stderr on a pseudo-terminal; what it wrote there."""
    master, slave = os.openpty()
    # No output processing: a CR on the terminal is one the command wrote.
    tty.setraw(slave)
    env = dict(os.environ, HOME=str(home), COLUMNS="200")
    env.pop("NO_COLOR", None)  # colours on, as an operator has them
    env.pop("SSH_AUTH_SOCK", None)
    command = pyinfra_command() + [str(a) for a in args] + ["--port", str(port)]
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave
    )
    os.close(slave)
    received = bytearray()
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not data:
                break
            received += data
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    return code, bytes(received)


def check_terminal(received: bytes) -> list[str]:
    """The lines as the terminal shows them; fails when anything a terminal acts on,
    other than our own colours and progress line, reached it."""
    text = received.decode("utf-8", "surrogateescape")
    plain = OWN_SEQUENCES.sub("", text)
    found = TERMINAL_ACTS_ON.search(plain)
    if found is not None:
        context = plain[max(0, found.start() - 60) : found.end() + 20]
        raise AssertionError(f"{found.group()!r} reached the terminal: {context!r}")
    # The progress line is drawn and cleared (CR, erase line) before the next line.
    return [COLOURS.sub("", line.split(CLEAR_LINE)[-1]) for line in text.split("\n")]


def shown_payloads(lines: list[str], tag: str) -> dict[int, bytes]:
    """{index: bytes} of the remote output lines `[HOST] TAG<i>:...:<i>END`."""
    found = {}
    pattern = re.compile(rf"^    \[{re.escape(HOST)}\] {tag}(\d+):(.*):\1END$")
    for line in lines:
        match = pattern.match(line)
        if match:
            found[int(match.group(1))] = unshown(match.group(2))
    return found


def deploy_printing(tmp: str, lines: list[bytes]) -> None:
    out = "; ".join(
        f"printf '{printf(f'O{i}:'.encode() + data + f':{i}END'.encode())}\\n'"
        for i, data in enumerate(lines)
    )
    err = "; ".join(
        f"printf '{printf(f'E{i}:'.encode() + data + f':{i}END'.encode())}\\n' >&2"
        for i, data in enumerate(lines)
    )
    write_tree(
        tmp,
        {
            "inventory.py": f"HOSTS = [{HOST!r}]\n",
            "deploy.py": f"""
                from pyinfra.modules import server
                server.shell({out!r})
                server.shell({err + "; exit 3"!r}, ignore_errors=True)
            """,
        },
    )


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=payloads)
@example(lines=[bytes(CONTROL_BYTES), b"A\x1b]0;pwned\x07B", b"host\rOVERWRITTEN", b"\\\\x1b\\\x1b\\"])
def test_remote_output_reaches_the_terminal_as_visible_text(sshd, ssh_home, lines):
    with tempfile.TemporaryDirectory() as tmp:
        deploy_printing(tmp, lines)
        for verbose in ("-v", "-vv"):
            code, received = run_on_terminal(sshd.port, ssh_home, ["inventory.py", "deploy.py", verbose], tmp)
            assert code == 0, received.decode(errors="replace")
            terminal = check_terminal(received)
            expected = dict(enumerate(lines))
            # Each line of output and error output, live, under the host's name (a CR
            # cannot take the line back over it), reads back to the bytes sent.
            assert shown_payloads(terminal, "O") == expected
            assert shown_payloads(terminal, "E") == expected
            # The ignored error quotes the error output: shown, never sent (it holds
            # text as decoded for results, so only its safety is checked here).
            assert any("Error (ignored)" in line for line in terminal)
            assert any(line.startswith("          E0:") for line in terminal), terminal
            # Our own colours still work.
            assert b"\x1b[1m" in received


def test_fact_json_stays_exact_and_facts_elsewhere_are_shown(sshd, ssh_home, tmp_path):
    # File names with control characters: a fact lists them. In --fact's JSON they
    # are JSON's escapes (json.loads gives the names back); nothing raw reaches the
    # terminal.
    base = tmp_path / "names"
    base.mkdir()
    names = ["a\x1b]0;pwned\x07b", "c\rd", "e\x7ff", "g\x9bh", "back\\x1bslash"]
    for name in names:
        (base / name).write_text("")
    write_tree(tmp_path, {"inventory.py": f"HOSTS = [{HOST!r}]\n"})
    code, received = run_on_terminal(
        sshd.port, ssh_home, ["inventory.py", "--fact", f"find_files:{base}"], tmp_path
    )
    assert code == 0, received
    check_terminal(received)
    text = received.decode()
    facts, _ = json.JSONDecoder().raw_decode(text, text.index("{"))
    assert sorted(facts[HOST]) == sorted(str(base / name) for name in names)

    # The same names used by a deploy (one operation per name, named after it) are
    # shown escaped in the operation names and the -vv commands.
    write_tree(
        tmp_path,
        {
            "deploy.py": f"""
                from pyinfra import host
                from pyinfra.api import quote
                from pyinfra.modules import server
                for name in sorted(host.fact.find_files({str(base)!r})):
                    server.shell('test -e ' + quote(name))
            """
        },
    )
    code, received = run_on_terminal(sshd.port, ssh_home, ["inventory.py", "deploy.py", "-vv"], tmp_path)
    text = "\n".join(check_terminal(received))
    assert code == 0, text
    assert r"a\x1b]0;pwned\x07b" in text and r"c\rd" in text and r"back\\x1bslash" in text


def test_a_hostile_ssh_banner_is_shown_not_sent(ssh_home, tmp_path):
    # A "server" whose SSH banner is a terminal sequence: paramiko quotes it in its
    # error and logs it; both reach the operator only through the printer.
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]

    def serve():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            client.sendall(b"SSH-\x1b]0;pwned\x07\xc2\x9b2J-x\r\n")
            client.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        write_tree(tmp_path, {"inventory.py": "HOSTS = ['127.0.0.1']\n"})
        code, received = run_on_terminal(port, ssh_home, ["inventory.py", "--fact", "os"], tmp_path)
    finally:
        listener.close()
    text = "\n".join(check_terminal(received))
    assert code == 1, text
    assert "Failed to connect" in text and "Traceback" not in text
    assert r"\x1b]0;pwned\x07\u009b2J" in text, text
