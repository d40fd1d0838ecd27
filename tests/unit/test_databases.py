"""The database facts' behaviour without their client, the password hashes the
postgresql and mysql operations store, and how their passwords are shown."""

import subprocess

import pytest

from pyinfra.api.facts import FactCommandError, fact_label, get_fact_class
from pyinfra.api.operation.callsite import operation_name
from pyinfra.api.secrets import mask_text, secret
from pyinfra.modules import mysql, postgresql
from pyinfra.modules._passwords import (
    digest,
    mysql_native_hash,
    mysql_password_matches,
    postgres_password_matches,
    saslprep,
    scram_verifier,
)

CLIENT_FACTS = ("postgresql_roles", "postgresql_databases", "mysql_users", "mysql_databases")


def run_without_programs(name, *args):
    fact = get_fact_class(name)()
    result = subprocess.run(
        ["/bin/sh", "-c", fact.make_command(*args)],
        capture_output=True,
        text=True,
        env={"PATH": "/nonexistent"},
    )
    return fact.value(result.returncode, result.stdout.splitlines(), result.stderr.splitlines())


@pytest.mark.parametrize("name", CLIENT_FACTS + ("mysql_user_grants",))
def test_without_the_client_a_local_server_is_absent_and_a_remote_one_an_error(name):
    local = ("app", "localhost") if name == "mysql_user_grants" else ()
    fact = get_fact_class(name)()
    assert run_without_programs(name, *local) == fact.default_value()
    remote = (
        (*local, "admin", "Unit-Pw-77", "db.example.com")
        if local
        else ("admin", "Unit-Pw-77", "db.example.com")
    )
    with pytest.raises(FactCommandError, match="command not found"):
        run_without_programs(name, *remote)


def test_mysql_native_hash_is_the_servers():
    # What MySQL's PASSWORD('password') gives.
    assert mysql_native_hash("password") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
    account = {"plugin": "mysql_native_password", "password_digest": digest(mysql_native_hash("pw-1"))}
    assert mysql_password_matches(account, "pw-1")
    assert not mysql_password_matches(account, "pw-2")
    assert not mysql_password_matches({**account, "plugin": "unix_socket"}, "pw-1")
    assert not mysql_password_matches(None, "pw-1")


def test_scram_verifier_and_comparison():
    salt = bytes(range(16))
    made = scram_verifier("pencil", salt)
    assert made.startswith("SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$")
    stored = {
        "type": "scram-sha-256",
        "iterations": 4096,
        "salt": "AAECAwQFBgcICQoLDA0ODw==",
        "digest": digest(made),
    }
    assert postgres_password_matches(stored, "app", "pencil")
    assert not postgres_password_matches(stored, "app", "pencil2")
    # A new verifier gets a salt of its own each time.
    assert scram_verifier("pencil") != scram_verifier("pencil")
    with pytest.raises(ValueError):
        postgres_password_matches({"type": "unknown"}, "app", "pencil")
    assert not postgres_password_matches(None, "app", "pencil")


def test_saslprep_maps_as_postgresql_does():
    assert saslprep("I\u00adX") == b"IX"  # soft hyphen: mapped to nothing
    assert saslprep("a\u00a0b") == b"a b"  # no-break space: a space
    assert saslprep("\ufb01") == b"fi"  # NFKC
    assert saslprep("a\u0007b") == b"a\x07b"  # prohibited: the raw bytes are hashed


def test_short_passwords_are_hidden_in_names_and_fact_labels():
    name = operation_name(
        postgresql.role.operation_function, ("app",), {"password": "ab", "psql_password": "cd"}
    )
    assert name == "Postgresql/Role (app, password=***, psql_password=***)"
    assert (
        fact_label("mysql_users", ("admin", secret("q7"), "127.0.0.1"))
        == "mysql_users('admin', ***, '127.0.0.1')"
    )


def test_the_commands_never_carry_a_password_readable():
    commands = list(
        mysql.user.operation_function(None, FakeHost(), "app", password="Unit-My-Pw-5", mysql_password="xy")
    )
    for command in commands:
        assert "Unit-My-Pw-5" not in command.command
        # The connection password, too short to be found in text, is a masked part.
        assert "MYSQL_PWD=xy" in command.command and "xy" not in str(command)
        assert mysql_native_hash("Unit-My-Pw-5") not in mask_text(str(command))
    commands = list(postgresql.role.operation_function(None, FakeHost(), "app", password="Unit-Pg-Pw-5"))
    assert "Unit-Pg-Pw-5" not in commands[0].command and "SCRAM-SHA-256$" in commands[0].command
    assert "SCRAM-SHA-256$" not in mask_text(str(commands[0]))


class FakeFacts:
    def __getattr__(self, name):
        return lambda *args: {}


class FakeHost:
    fact = FakeFacts()
