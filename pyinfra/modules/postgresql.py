"""PostgreSQL roles, databases and SQL, through the host's psql client.

Every operation here takes the connection's settings:

+ psql_user: the role to log in as (psql's default: the user the command runs as)
+ psql_password: that role's password (a secret: shown as ``***``; it reaches psql
  in ``PGPASSWORD``)
+ psql_host: the server's host name, or the directory of its Unix socket
+ psql_port: the server's port (also the number in the socket's name)

The ``psql_password`` is in the command the host runs (in the client's environment,
and in sudo's arguments with ``sudo=True``): while it runs, the host's process
list may show it to its other users. Prefer the socket with sudo where you can.

On a packaged server, the way in is the ``postgres`` superuser by peer authentication:
give ``sudo=True, sudo_user='postgres'`` and no ``psql_*`` settings:

    postgresql.role('app', password=secret('...'), sudo=True, sudo_user='postgres')
    postgresql.database('app', owner='app', sudo=True, sudo_user='postgres')

Role and database operations connect to the ``postgres`` database. Passwords are
hashed on the controller (SCRAM-SHA-256) and only the hash is sent; a role's password
is compared with the one given without being read back, so that a login allowed to
read ``pg_authid`` (a superuser) is needed to manage passwords of existing roles.
Needs PostgreSQL 11 or later.
"""

from __future__ import annotations

from pyinfra.api import OperationError, operation
from pyinfra.api.secrets import secret
from pyinfra.facts.postgresql import psql_run
from pyinfra.modules import unknown_operation
from pyinfra.modules._passwords import postgres_password_matches, scram_verifier

# Role attributes: the argument, the keyword granting it, the fact's field.
ATTRIBUTES = (
    ("login", "LOGIN"),
    ("superuser", "SUPERUSER"),
    ("inherit", "INHERIT"),
    ("createdb", "CREATEDB"),
    ("createrole", "CREATEROLE"),
    ("replication", "REPLICATION"),
)


def ident(name: str) -> str:
    """A quoted SQL identifier: any name, as it is written."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value) -> str:
    """An SQL string literal (standard_conforming_strings: backslashes are plain)."""
    return "'" + str(value).replace("'", "''") + "'"


def name_arg(what: str, value) -> str:
    if not isinstance(value, str) or not value or "\0" in value:
        raise OperationError(f"{what} must be a non-empty string, not {value!r}")
    return value


def limit_arg(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise OperationError(
            f"connection_limit must be a number of connections (-1: no limit), not {value!r}"
        )
    return value


class Connection:
    """The psql_* settings of an operation: its facts are read and its SQL run with them."""

    def __init__(self, user, password, host, port):
        if password is not None:
            password = secret(str(password))
        self.settings = (user, password, host, port)
        self.host = host

    def fact_args(self) -> tuple:
        # Trailing unset settings left out: a deploy's `--fact` reads the same fact.
        args = list(self.settings)
        while args and args[-1] is None:
            args.pop()
        return tuple(args)

    def run(self, sql: str, database: str | None = "postgres") -> str:
        return psql_run(sql, database, *self.settings)


@operation
def role(
    state,
    host,
    role,
    present=True,
    password=None,
    login=True,
    superuser=None,
    inherit=None,
    createdb=None,
    createrole=None,
    replication=None,
    connection_limit=None,
    psql_user=None,
    psql_password=None,
    psql_host=None,
    psql_port=None,
):
    """Ensure a role exists with these attributes and password, or is absent. An
    existing role is changed in place (``ALTER ROLE``) where it differs.

    + role: name of the role
    + present: whether the role should exist (absent drops it: PostgreSQL refuses while
      it owns objects)
    + password: its password (a secret); not given, the password is left as it is
    + login: whether it may log in (a user) or not (a group)
    + superuser: whether it is a superuser; None leaves it as it is (new: no)
    + inherit: whether it uses the privileges of the roles it is a member of; None
      leaves it (new: yes)
    + createdb: whether it may create databases; None leaves it (new: no)
    + createrole: whether it may create roles; None leaves it (new: no)
    + replication: whether it may start streaming replication; None leaves it (new: no)
    + connection_limit: how many connections it may open (-1: no limit); None leaves it
    + psql_user: connection setting (see the top of this page)
    + psql_password: connection setting
    + psql_host: connection setting
    + psql_port: connection setting
    """
    db = Connection(psql_user, psql_password, psql_host, psql_port)
    if password is not None:
        password = secret(str(password))
    role = name_arg("role", role)
    connection_limit = limit_arg(connection_limit)
    wanted = {
        "login": login,
        "superuser": superuser,
        "inherit": inherit,
        "createdb": createdb,
        "createrole": createrole,
        "replication": replication,
    }
    for name, value in wanted.items():
        if value is not None and not isinstance(value, bool):
            raise OperationError(f"{name} must be True, False or None, not {value!r}")

    existing = (host.fact.postgresql_roles(*db.fact_args()) or {}).get(role)
    if not present:
        if existing is not None:
            yield db.run(f"DROP ROLE {ident(role)}")
        return

    options = []
    for name, keyword in ATTRIBUTES:
        value = wanted[name]
        if value is not None and (existing is None or existing.get(name) != value):
            options.append(keyword if value else f"NO{keyword}")
    if connection_limit is not None and (
        existing is None or existing.get("connection_limit") != connection_limit
    ):
        options.append(f"CONNECTION LIMIT {connection_limit}")
    if password is not None:
        try:
            same = existing is not None and postgres_password_matches(
                existing.get("password"), role, password
            )
        except ValueError:
            login_name = f"login {psql_user!r}" if psql_user else "this login"
            raise OperationError(
                f"cannot tell whether role {role!r} has this password: {login_name} may not read"
                " pg_authid; connect as a superuser (sudo_user='postgres')"
            ) from None
        if not same:
            options.append(secret(f"PASSWORD {literal(scram_verifier(password))}"))

    if existing is None:
        yield db.run(" ".join([f"CREATE ROLE {ident(role)}", *(["WITH", *options] if options else [])]))
    elif options:
        yield db.run(" ".join([f"ALTER ROLE {ident(role)} WITH", *options]))


def same_name(current, wanted) -> bool:
    """Encodings and locales as PostgreSQL may write them: UTF8 is utf-8."""

    def norm(value):
        return str(value).lower().replace("-", "").replace("_", "")

    return norm(current) == norm(wanted)


@operation
def database(
    state,
    host,
    database,
    present=True,
    owner=None,
    template=None,
    encoding=None,
    lc_collate=None,
    lc_ctype=None,
    tablespace=None,
    connection_limit=None,
    psql_user=None,
    psql_password=None,
    psql_host=None,
    psql_port=None,
):
    """Ensure a database exists, with its owner, encoding and locale, or is absent. An
    existing database gets the owner, tablespace and connection limit given; one whose
    encoding or locale differs is an error (PostgreSQL cannot change them: dump, drop
    and create it again).

    + database: name of the database
    + present: whether the database should exist (absent drops it, and its data)
    + owner: the role owning it (new: the role connected as)
    + template: the database to copy when it is created (PostgreSQL's default:
      template1; a new encoding or locale may need ``template0``)
    + encoding: its character encoding, like ``UTF8``
    + lc_collate: its collation order (locale), like ``en_US.UTF-8``
    + lc_ctype: its character classification (locale)
    + tablespace: the tablespace it lives in
    + connection_limit: how many connections it accepts (-1: no limit)
    + psql_user: connection setting (see the top of this page)
    + psql_password: connection setting
    + psql_host: connection setting
    + psql_port: connection setting
    """
    db = Connection(psql_user, psql_password, psql_host, psql_port)
    database = name_arg("database", database)
    connection_limit = limit_arg(connection_limit)
    for what, value in (
        ("owner", owner),
        ("template", template),
        ("encoding", encoding),
        ("lc_collate", lc_collate),
        ("lc_ctype", lc_ctype),
        ("tablespace", tablespace),
    ):
        if value is not None:
            name_arg(what, value)

    existing = (host.fact.postgresql_databases(*db.fact_args()) or {}).get(database)
    if not present:
        if existing is not None:
            yield db.run(f"DROP DATABASE {ident(database)}")
        return

    if existing is None:
        words = [f"CREATE DATABASE {ident(database)}"]
        if owner:
            words.append(f"OWNER {ident(owner)}")
        if template:
            words.append(f"TEMPLATE {ident(template)}")
        if encoding:
            words.append(f"ENCODING {literal(encoding)}")
        if lc_collate:
            words.append(f"LC_COLLATE {literal(lc_collate)}")
        if lc_ctype:
            words.append(f"LC_CTYPE {literal(lc_ctype)}")
        if tablespace:
            words.append(f"TABLESPACE {ident(tablespace)}")
        if connection_limit is not None:
            words.append(f"CONNECTION LIMIT {connection_limit}")
        yield db.run(" ".join(words))
        return

    for what, value in (("encoding", encoding), ("lc_collate", lc_collate), ("lc_ctype", lc_ctype)):
        if value is not None and not same_name(existing.get(what), value):
            raise OperationError(
                f"database {database!r} exists with {what} {existing.get(what)!r}, not {value!r}:"
                " PostgreSQL cannot change it (dump the database, drop it and create it again)"
            )
    if owner and existing.get("owner") != owner:
        yield db.run(f"ALTER DATABASE {ident(database)} OWNER TO {ident(owner)}")
    if tablespace and existing.get("tablespace") != tablespace:
        yield db.run(f"ALTER DATABASE {ident(database)} SET TABLESPACE {ident(tablespace)}")
    if connection_limit is not None and existing.get("connection_limit") != connection_limit:
        yield db.run(f"ALTER DATABASE {ident(database)} CONNECTION LIMIT {connection_limit}")


@operation(opaque=True)
def sql(
    state,
    host,
    sql,
    database=None,
    psql_user=None,
    psql_password=None,
    psql_host=None,
    psql_port=None,
):
    """Run SQL on the server, as written (it runs on every deploy: make it safe to
    repeat, ``CREATE TABLE IF NOT EXISTS ...``). It stops at the first failing
    statement, and that fails the operation.

    + sql: the SQL (one statement or several, separated by ``;``)
    + database: the database to run it in (psql's default: the one named like the role)
    + psql_user: connection setting (see the top of this page)
    + psql_password: connection setting
    + psql_host: connection setting
    + psql_port: connection setting
    """
    if not isinstance(sql, str) or not sql.strip():
        raise OperationError(f"sql must be a non-empty string, not {sql!r}")
    if database is not None:
        name_arg("database", database)
    yield Connection(psql_user, psql_password, psql_host, psql_port).run(sql, database)


__getattr__ = unknown_operation(__name__)
