"""Facts about a PostgreSQL server, read with the `psql` client on the host.

Each takes the connection's `psql_user`, `psql_password`, `psql_host` (a host name,
or the directory of the server's Unix socket) and `psql_port`; left out, psql's
defaults apply: the local socket, as the user the fact is read as (with
``sudo_user='postgres'``, the ``postgres`` superuser by peer authentication).

A host without psql, asked about its local server, has no roles and no databases. A
server that cannot be reached, or refuses the login, is an error: never "absent".
"""

from __future__ import annotations

import json

from pyinfra.api import FactBase, quote
from pyinfra.api.command import StringCommand, with_secret_env
from pyinfra.api.facts import ABSENT, program_path


def psql_run(
    sql: str,
    database: str | None = None,
    user: str | None = None,
    password: str | None = None,
    host: str | None = None,
    port: int | str | None = None,
) -> StringCommand:
    """psql running `sql` (unaligned, tuples only, stopping at the first error) with
    these connection settings; the password travels in PGPASSWORD, not in argv."""
    words = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
    if user:
        words += ["-U", quote(user)]
    if host:
        words += ["-h", quote(host)]
    if port:
        words += ["-p", quote(port)]
    if database:
        words += ["-d", quote(database)]
    words += ["-c", quote(sql)]
    return with_secret_env("PGPASSWORD", password, " ".join(words))


def psql_command(*args, **kwargs) -> str:
    """psql_run's command as sent (what a fact runs)."""
    return psql_run(*args, **kwargs).command


def with_psql(command: str, host: str | None) -> str:
    """`command`, on a host that has psql. Without psql, a local server is absent (the
    server packages bring psql); a remote one is an error: psql is missing, and that
    says nothing of what is on the server."""
    missing = f"echo {ABSENT}" if not host else "{ echo 'psql: command not found' >&2; false; }"
    return f"if {program_path('psql')} >/dev/null; then {{ {command}; }}; else {missing}; fi"


class PostgresqlFact(FactBase):
    abstract = True
    default = dict
    # What an operation's change may alter (api/dependencies.py): roles and databases
    # are apart (a new role makes no database; postgresql.sql may change anything).
    subject = "postgresql roles"

    def process(self, output):
        value = json.loads("".join(output))
        if not isinstance(value, dict):
            raise ValueError(f"psql gave {value!r}, not an object")
        return value


# The password as stored, never given back: its kind, the salt and iteration count of
# a SCRAM verifier (sent to any client that logs in, so not secret), and the SHA-256 of
# the stored text, which an operation compares with the one it would store.
STORED_PASSWORD = (
    "CASE WHEN rolpassword IS NULL THEN NULL"
    " WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN json_build_object('type', 'scram-sha-256',"
    " 'iterations', split_part(split_part(rolpassword, '$', 2), ':', 1)::int,"
    " 'salt', split_part(split_part(rolpassword, '$', 2), ':', 2), 'digest', {digest})"
    " WHEN rolpassword ~ '^md5[0-9a-f]{{32}}$' THEN json_build_object('type', 'md5', 'digest', {digest})"
    " ELSE json_build_object('type', 'other', 'digest', {digest}) END"
).format(digest="encode(sha256(convert_to(rolpassword, 'UTF8')), 'hex')")

ROLE_FIELDS = (
    "'login', rolcanlogin, 'superuser', rolsuper, 'inherit', rolinherit, 'createdb', rolcreatedb,"
    " 'createrole', rolcreaterole, 'replication', rolreplication, 'connection_limit', rolconnlimit"
)


def roles_query(table: str, password: str) -> str:
    return (
        f"SELECT coalesce(json_object_agg(rolname, json_build_object({ROLE_FIELDS}, 'password', {password})),"
        f" '{{}}') FROM {table} WHERE rolname !~ '^pg_'"
    )


class PostgresqlRoles(PostgresqlFact):
    """Roles by name: ``{name: {login, superuser, inherit, createdb, createrole,
    replication, connection_limit, password}}`` (the built-in ``pg_*`` roles left out).
    ``password`` is None when the role has none; else ``{type, digest}`` (type
    ``scram-sha-256`` with its ``iterations`` and ``salt``, ``md5`` or ``other``): the
    password itself is never read. A login that may not read ``pg_authid`` (not a
    superuser) sees ``{type: unknown}``."""

    def command(self, psql_user=None, psql_password=None, psql_host=None, psql_port=None):
        def psql(sql):
            return psql_command(sql, "postgres", psql_user, psql_password, psql_host, psql_port)

        check = psql("SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT')")
        full = psql(roles_query("pg_catalog.pg_authid", STORED_PASSWORD))
        limited = psql(roles_query("pg_catalog.pg_roles", "json_build_object('type', 'unknown')"))
        script = f'r=$({check}) && if [ "$r" = t ]; then {full}; else {limited}; fi'
        return with_psql(script, psql_host)


class PostgresqlDatabases(PostgresqlFact):
    """Databases by name: ``{name: {owner, encoding, lc_collate, lc_ctype, tablespace,
    connection_limit, is_template}}``."""

    subject = "postgresql databases"

    def command(self, psql_user=None, psql_password=None, psql_host=None, psql_port=None):
        sql = (
            "SELECT coalesce(json_object_agg(d.datname, json_build_object("
            "'owner', pg_get_userbyid(d.datdba), 'encoding', pg_encoding_to_char(d.encoding),"
            " 'lc_collate', d.datcollate, 'lc_ctype', d.datctype, 'tablespace', t.spcname,"
            " 'connection_limit', d.datconnlimit, 'is_template', d.datistemplate)), '{}')"
            " FROM pg_catalog.pg_database d JOIN pg_catalog.pg_tablespace t ON t.oid = d.dattablespace"
        )
        command = psql_command(sql, "postgres", psql_user, psql_password, psql_host, psql_port)
        return with_psql(command, psql_host)
