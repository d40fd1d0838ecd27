"""The output layer's sanitizer (pyinfra.cli.output): what a terminal would act on is
shown as visible, reversible escapes, in every way the printer writes; our colours
and secret masking still apply. The end-to-end proof on a real terminal is
tests/test_e2e_terminal.py."""

import io
import json
import logging
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st
from support.shown_text import unshown

from pyinfra.api.secrets import secret
from pyinfra.cli.output import ErrorLogHandler, Printer, ShownStream, escape_controls, json_text, shown

TERMINAL_ACTS_ON = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
SGR = re.compile("\x1b\\[[0-9;]*m")

# Text as the CLI gets it: any character, plus controls, surrogate escapes (bytes a
# host sent that were not UTF-8) and what reads like an escape once shown.
hostile = st.lists(
    st.one_of(
        st.characters(exclude_categories=["Cs"]),
        st.sampled_from([chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]]),
        st.sampled_from([chr(0xDC00 + b) for b in range(0x80, 0x100)]),
        st.sampled_from(["\\", "x", "u", "r", "1b", "\\x1b", "\\u009b", "\\r", "00"]),
    ),
    max_size=40,
).map("".join)


class Host:
    def __init__(self, name):
        self.name = name


@settings(max_examples=300)
@given(hostile)
@example("A\x1b]0;pwned\x07B")
@example("\\\x1b\\")
def test_shown_text_holds_no_control_and_reads_back_to_the_bytes(text):
    escaped = escape_controls(text)
    assert TERMINAL_ACTS_ON.search(escaped.replace("\t", "").replace("\n", "")) is None
    assert unshown(escaped) == text.encode("utf-8", "surrogateescape")


def test_escape_forms():
    assert escape_controls("A\x1b]0;pwned\x07B") == r"A\x1b]0;pwned\x07B"
    assert escape_controls("progress 50%\rdone\r\n") == "progress 50%\\rdone\\r\n"
    assert escape_controls("tab\there\nnext") == "tab\there\nnext"
    assert escape_controls("\x00\x7f") == r"\x00\x7f"
    assert escape_controls("\x9b31m \x85") == r"\u009b31m \u0085"  # C1 characters
    assert escape_controls("\udc9b") == r"\x9b"  # a byte 0x9b that was not UTF-8
    assert escape_controls("é € ✓") == "é € ✓"
    # A backslash stays single unless it could be read as an escape.
    assert escape_controls(r"C:\path \n \t \033") == r"C:\path \n \t \033"
    assert escape_controls(r"\x1b \u009b \r \\ end") == r"\\x1b \\u009b \\r \\\ end"
    assert escape_controls("\\\x1b") == r"\\\x1b"


def test_secrets_are_masked_before_escaping():
    secret("pw\x1b[31mSecret-771")
    assert shown("login pw\x1b[31mSecret-771 ok\x07") == r"login *** ok\x07"


def test_json_stays_exact_json():
    value = {"name\x1b": ["a\x00\x07\r\x7f\x85\x9b", "é"]}
    text = json_text(value)
    assert json.loads(text) == value
    assert TERMINAL_ACTS_ON.search(text.replace("\n", "")) is None
    assert "\\u007f" in text


def printer_with_colours(**kwargs):
    printer = Printer(**kwargs)
    printer.out_colour = printer.err_colour = True
    return printer


def test_host_lines_and_remote_output_keep_our_colours_only(capsys):
    printer = printer_with_colours(verbose=1)
    host = Host("web\x1b]0;x\x07-1")
    printer.host_line(host, "Failed: \x1b[2J cleared", "red")
    printer.host_line(Host("db"), "Failed to connect: no\n    [web-2] Connected")
    printer.remote_output(host, "stdout", "host\rOVERWRITTEN \x1b[31m")
    printer.remote_output(host, "stderr", "err\x9b")
    printer.phase("Starting operation: printf '\x1b]0;t\x07'")
    printer.line("    ", printer.style("op \x1b[5m", bold=True), " \x0c")
    out, err = capsys.readouterr()
    for stream in (out, err):
        assert TERMINAL_ACTS_ON.search(SGR.sub("", stream).replace("\n", "")) is None
    assert "\x1b[1m" in out and "\x1b[31m" in out  # ours: bold names, red failure
    lines = SGR.sub("", out).splitlines()
    assert lines.pop(1) == "    [db] Failed to connect: no"
    assert lines.pop(1) == "            [web-2] Connected"
    assert lines[0] == r"    [web\x1b]0;x\x07-1] Failed: \x1b[2J cleared"
    # The carriage return is shown: the line still starts with the host's name.
    assert lines[1] == r"    [web\x1b]0;x\x07-1] host\rOVERWRITTEN \x1b[31m"
    assert lines[2] == r"--> Starting operation: printf '\x1b]0;t\x07'"
    assert lines[3] == r"    op \x1b[5m \x0c"
    assert SGR.sub("", err) == "    [web\\x1b]0;x\\x07-1] err\\u009b\n"


def test_error_details_split_at_newlines_only(capsys):
    printer = Printer()
    printer.host_detail("command failed\n  50%\rdone\x0c\n  last\n")
    printer.error("fact failed: \x1b]52;c;aGk=\x07")
    out, err = capsys.readouterr()
    assert out == "        command failed\n          50%\\rdone\\x0c\n          last\n"
    assert err == "error: fact failed: \\x1b]52;c;aGk=\\x07\n"


def test_progress_line_is_shown(capsys):
    printer = Printer()
    printer.show_progress = True
    printer.progress("[run] printf '\x1b]0;t\x07': 0/1 hosts done")
    printer.done_progress()
    _, err = capsys.readouterr()
    assert err == "\r\x1b[K[run] printf '\\x1b]0;t\\x07': 0/1 hosts done\r\x1b[K"


def test_log_messages_and_other_writers_are_shown(capsys):
    printer = Printer()
    logger = logging.getLogger("pyinfra.test_output")
    handler = ErrorLogHandler(printer)
    logger.addHandler(handler)
    try:
        logger.warning("host said %s", "\x1b]0;t\x07")
    finally:
        logger.removeHandler(handler)
    target = io.StringIO()
    ShownStream(target).write("greenlet: \x1b[2J\n")
    assert capsys.readouterr().err == "warning: host said \\x1b]0;t\\x07\n"
    assert target.getvalue() == "greenlet: \\x1b[2J\n"
