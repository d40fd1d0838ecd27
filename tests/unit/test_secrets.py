"""Secret values: `secret()` behaves as the plain value; every form a secret takes on
its way to the screen is masked; data displays show secret data as ***."""

import json

import jinja2
import pytest

from pyinfra import secret
from pyinfra.api.command import RunAs, quote, wrap_command
from pyinfra.api.secrets import (
    Secret,
    is_secret_key,
    mask_data,
    mask_shown,
    mask_text,
    mask_value,
    register,
    register_data,
)


def test_a_wrapped_secret_works_as_the_plain_string():
    value = secret("Plain-Sec-1001")
    assert isinstance(value, str) and isinstance(value, Secret)
    assert value == "Plain-Sec-1001" and hash(value) == hash("Plain-Sec-1001")
    assert f"pw={value}" == "pw=Plain-Sec-1001"
    assert "pw=%s" % value == "pw=Plain-Sec-1001"
    assert value.upper() == "PLAIN-SEC-1001" and value + "!" == "Plain-Sec-1001!"
    assert quote(value) == "Plain-Sec-1001"
    assert jinja2.Template("{{ v }}").render(v=value) == "Plain-Sec-1001"
    assert json.dumps(value) == '"Plain-Sec-1001"'
    assert type(str(value)) is str and str(value) == "Plain-Sec-1001"
    assert secret(value) is value


def test_secret_keeps_other_values_as_they_are_and_hides_their_contents():
    numbers = secret(90417733)
    assert numbers == 90417733
    listed = secret(["List-Sec-2002"])
    assert listed == ["List-Sec-2002"]
    assert mask_text("pin 90417733, List-Sec-2002") == "pin ***, ***"
    assert mask_shown({"pin": 90417733, "other": 5}) == {"pin": "***", "other": 5}


@pytest.mark.parametrize(
    "key, secret_name",
    [
        ("db_password", True),
        ("API_TOKEN", True),
        ("deploy_secret", True),
        ("ldap_passwd", True),
        ("ssh_private_key", True),
        ("sudo_password", True),
        ("ssh_key_password", True),
        ("app_user", False),
        ("tokens", True),
        ("colour", False),
    ],
)
def test_secret_names(key, secret_name):
    assert is_secret_key(key) is secret_name


def test_every_shown_form_of_a_secret_is_masked():
    value = 'it\'s $ecret "x" \\ 3003'
    register_data({"app_password": value})
    once = quote(value)
    wrapped = wrap_command(f"echo {once}", RunAs(env={"A": value}, timeout=5))
    for text in (value, once, quote(once), wrapped, repr(value), json.dumps(value), repr(once)):
        masked = mask_text(f"before {text} after")
        assert masked.startswith("before ") and masked.endswith(" after"), masked
        assert "$ecret" not in masked, masked


def test_a_multi_line_secret_is_masked_line_by_line():
    key = "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQ\nC7vbqajDhA7Ogy2C1Tn9\n-----END KEY-----"
    register_data({"deploy_private_key": key})
    assert mask_text(key) == "***"
    assert mask_text("AAAAB3NzaC1yc2EAAAADAQABAAABAQ") == "***"


def test_short_values_are_hidden_in_data_but_not_looked_for_in_text():
    register_data({"short_token": "a'b", "short_password": 12})
    assert mask_value("short_token", "a'b") == "***"
    assert mask_text("a'b, quoted: 'a'\"'\"'b'") == "a'b, quoted: 'a'\"'\"'b'"
    assert mask_shown({"count": 12}) == {"count": 12}


def test_data_is_masked_by_name_at_any_depth_and_by_wrapping():
    register(None)  # nothing to remember
    data = {
        "db_password": "Data-Sec-4004",
        "settings": {"admin_passwd": "Data-Sec-5005", "colour": "blue", "list": [{"token": "x"}]},
        "release": Secret("Data-Sec-6006"),
        "flag_token": None,
        "deploy_secret": {"key": "Data-Sec-7007", "n": [1, 2]},
        "name": "web",
    }
    assert {key: mask_value(key, value) for key, value in data.items()} == {
        "db_password": "***",
        "settings": {"admin_passwd": "***", "colour": "blue", "list": [{"token": "***"}]},
        "release": "***",
        "flag_token": None,
        "deploy_secret": "***",
        "name": "web",
    }
    assert mask_data({"env": {"API_TOKEN": "from-elsewhere"}}) == {"env": {"API_TOKEN": "***"}}
    register_data(data)
    assert mask_text("Data-Sec-4004 Data-Sec-5005 Data-Sec-7007 Data-Sec-6006") == "*** *** *** ***"
    assert mask_text("a blue web") == "a blue web"


def test_json_shown_keeps_its_labels():
    register_data({"api_token": "Json-Sec-8008"})
    shown = {"api_token": {"value": "***", "source": "all"}, "cmd": ["echo 'Json-Sec-8008'"]}
    assert mask_shown(shown) == {"api_token": {"value": "***", "source": "all"}, "cmd": ["echo '***'"]}


def test_streams_the_printer_does_not_see_are_masked_too():
    import io

    from pyinfra.api.secrets import MaskedStream

    register_data({"stream_token": "Stream-Sec-9009"})
    target = io.StringIO()
    stream = MaskedStream(target)
    stream.write("Traceback: ValueError: Stream-Sec-9009\n")
    stream.flush()
    assert target.getvalue() == "Traceback: ValueError: ***\n"


def test_a_command_masks_its_secret_parts_by_type():
    """Built from parts, a command is sent whole and shown with its secret parts as
    ***, however short (text masking skips values under MIN_TEXT_LENGTH)."""
    from pyinfra.api.command import MaskString, QuoteString, StringCommand, make_command
    from pyinfra.api.secrets import secret

    command = make_command(
        "PW=", QuoteString(secret("q7")), " tool --token ", MaskString("x1"), " ", QuoteString("a b")
    )
    assert command.command == "PW=q7 tool --token x1 'a b'"
    assert str(command) == "PW=*** tool --token *** 'a b'"
    nested = make_command(command, " && echo done")
    assert nested.command == command.command + " && echo done"
    assert str(nested) == str(command) + " && echo done"
    plain = make_command("echo ", QuoteString("hi"))
    assert plain == StringCommand("echo hi") and plain.shown is None
