"""MySQL and MariaDB users, databases and privileges, through the host's mysql client.

Every operation here takes the connection's settings:

+ mysql_user: the account to log in as (the client's default: the user the
  command runs as)
+ mysql_password: its password (a secret: shown as ``***``; it reaches the client
  in ``MYSQL_PWD``)
+ mysql_host: the server's host name (``localhost``: its Unix socket)
+ mysql_port: the server's TCP port

The ``mysql_password`` is in the command the host runs (in the client's environment,
and in sudo's arguments with ``sudo=True``): while it runs, the host's process
list may show it to its other users. Prefer the socket with sudo where you can.

On a packaged MariaDB, root logs in through the socket by the unix_socket plugin:
give ``sudo=True`` and no ``mysql_*`` settings:

    mysql.user('app', password=secret('...'), sudo=True)
    mysql.database('app', charset='utf8mb4', user='app', sudo=True)

Passwords are stored for the mysql_native_password plugin, hashed on the controller:
only the hash is sent, and an account's password is compared with the one given
without being read back. An account using another plugin that is given a password
is switched to mysql_native_password (MySQL 8.4 disables that plugin: there, give no
password; on MariaDB, a password given for root replaces its unix_socket login).
Needs MariaDB 10.5 or MySQL 5.7.22 or later.
"""

from __future__ import annotations

from pyinfra.api import OperationError, operation
from pyinfra.api.secrets import secret
from pyinfra.facts.mysql import mysql_run, privilege_name, split_privileges, sql_string
from pyinfra.modules import unknown_operation
from pyinfra.modules._passwords import mysql_native_hash, mysql_password_matches


def name_arg(what: str, value) -> str:
    if not isinstance(value, str) or not value or "\0" in value:
        raise OperationError(f"{what} must be a non-empty string, not {value!r}")
    return value


def ident(name: str) -> str:
    """A quoted identifier: `name`, backticks inside doubled."""
    return "`" + str(name).replace("`", "``") + "`"


class Connection:
    """The mysql_* settings of an operation: its facts are read and its SQL run with them."""

    def __init__(self, user, password, host, port):
        if password is not None:
            password = secret(str(password))
        self.settings = (user, password, host, port)

    def fact_args(self) -> tuple:
        args = list(self.settings)
        while args and args[-1] is None:
            args.pop()
        return tuple(args)

    def run(self, sql: str) -> str:
        return mysql_run(sql, None, *self.settings)


def account(user: str, hostname: str) -> str:
    return f"{sql_string(user)}@{sql_string(hostname)}"


def privilege_set(privileges) -> set[str]:
    if isinstance(privileges, str):
        privileges = split_privileges(privileges)
    if not isinstance(privileges, (list, tuple, set, frozenset)):
        raise OperationError(f"privileges must be a list of privilege names, not {privileges!r}")
    names = set()
    for privilege in privileges:
        if not isinstance(privilege, str) or not privilege.strip() or ";" in privilege or "`" in privilege:
            raise OperationError(f"not a privilege name: {privilege!r}")
        names.add(privilege_name(privilege.strip()))
    return names


def privilege_commands(db, grants, user, hostname, wanted, target, flush):
    """Commands making the account's privileges on `target` exactly `wanted` (USAGE,
    which every account has, is never granted or revoked)."""
    wanted = wanted - {"USAGE"}
    have = set((grants or {}).get(target, [])) - {"USAGE"}
    if "ALL" in wanted:
        # ALL covers every other privilege but GRANT OPTION.
        have = {p for p in have if p in ("ALL", "GRANT OPTION")}
    revoke, grant = sorted(have - wanted), sorted(wanted - have)
    commands = []
    if revoke:
        commands.append(f"REVOKE {', '.join(revoke)} ON {target} FROM {account(user, hostname)}")
    if grant:
        option = " WITH GRANT OPTION" if "GRANT OPTION" in grant else ""
        names = [p for p in grant if p != "GRANT OPTION"] or ["USAGE"]
        commands.append(f"GRANT {', '.join(names)} ON {target} TO {account(user, hostname)}{option}")
    if commands and flush:
        commands.append("FLUSH PRIVILEGES")
    return [db.run("; ".join(commands))] if commands else []


@operation
def user(
    state,
    host,
    user,
    present=True,
    user_hostname="localhost",
    password=None,
    privileges=None,
    mysql_user=None,
    mysql_password=None,
    mysql_host=None,
    mysql_port=None,
):
    """Ensure an account exists, with its password and global privileges, or is absent.

    + user: the account's user name
    + present: whether the account should exist
    + user_hostname: where it may connect from (``%``: anywhere); with ``user`` it
      names the account, so another hostname is another account
    + password: its password (a secret); not given, the password is left as it is
    + privileges: its global privileges (on ``*.*``), exactly these (see
      mysql.privileges); not given, they are left as they are
    + mysql_user: connection setting (see the top of this page)
    + mysql_password: connection setting
    + mysql_host: connection setting
    + mysql_port: connection setting
    """
    db = Connection(mysql_user, mysql_password, mysql_host, mysql_port)
    if password is not None:
        password = secret(str(password))
    name_arg("user", user)
    name_arg("user_hostname", user_hostname)
    wanted = privilege_set(privileges) if privileges is not None else None

    existing = (host.fact.mysql_users(*db.fact_args()) or {}).get(f"{user}@{user_hostname}")
    if not present:
        if existing is not None:
            yield db.run(f"DROP USER {account(user, hostname=user_hostname)}")
        return

    identified = ""
    if password is not None and not mysql_password_matches(existing, password):
        identified = secret(
            f" IDENTIFIED WITH mysql_native_password AS {sql_string(mysql_native_hash(password))}"
        )
    if existing is None:
        yield db.run(f"CREATE USER {account(user, user_hostname)}{identified}")
    elif identified:
        yield db.run(f"ALTER USER {account(user, user_hostname)}{identified}")

    if wanted is not None:
        grants = host.fact.mysql_user_grants(user, user_hostname, *db.fact_args()) if existing else {}
        yield from privilege_commands(db, grants, user, user_hostname, wanted, "*.*", flush=False)


@operation
def database(
    state,
    host,
    database,
    present=True,
    collate=None,
    charset=None,
    user=None,
    user_hostname="localhost",
    user_privileges="ALL",
    mysql_user=None,
    mysql_password=None,
    mysql_host=None,
    mysql_port=None,
):
    """Ensure a database exists with its default character set and collation, or is
    absent; and, with ``user``, that an account has privileges on it. An existing
    database whose defaults differ gets them (tables already made keep theirs).

    + database: name of the database
    + present: whether the database should exist (absent drops it, and its data)
    + collate: its default collation, like ``utf8mb4_unicode_ci``
    + charset: its default character set, like ``utf8mb4``
    + user: an account to give privileges on the database
    + user_hostname: that account's hostname
    + user_privileges: the privileges it gets there, exactly these (see mysql.privileges)
    + mysql_user: connection setting (see the top of this page)
    + mysql_password: connection setting
    + mysql_host: connection setting
    + mysql_port: connection setting
    """
    db = Connection(mysql_user, mysql_password, mysql_host, mysql_port)
    name_arg("database", database)
    for what, value in (("collate", collate), ("charset", charset)):
        if value is not None and (not isinstance(value, str) or not value.replace("_", "").isalnum()):
            raise OperationError(f"{what} must be a name like utf8mb4, not {value!r}")
    if user is not None:
        name_arg("user", user)
        wanted = privilege_set(user_privileges)

    existing = (host.fact.mysql_databases(*db.fact_args()) or {}).get(database)
    if not present:
        if existing is not None:
            yield db.run(f"DROP DATABASE {ident(database)}")
        return

    options = []
    if charset and (existing is None or existing.get("charset", "").lower() != charset.lower()):
        options.append(f"CHARACTER SET {charset}")
    if collate and (existing is None or existing.get("collate", "").lower() != collate.lower()):
        options.append(f"COLLATE {collate}")
    if existing is None:
        yield db.run(" ".join([f"CREATE DATABASE {ident(database)}", *options]))
    elif options:
        yield db.run(" ".join([f"ALTER DATABASE {ident(database)}", *options]))

    if user is not None:
        grants = host.fact.mysql_user_grants(user, user_hostname, *db.fact_args())
        yield from privilege_commands(db, grants, user, user_hostname, wanted, f"{ident(database)}.*", True)


@operation
def privileges(
    state,
    host,
    user,
    privileges,
    user_hostname="localhost",
    database="*",
    table="*",
    flush=True,
    with_grant_option=False,
    mysql_user=None,
    mysql_password=None,
    mysql_host=None,
    mysql_port=None,
):
    """Ensure an account has exactly these privileges on a database, a table or
    everything: missing ones are granted, others revoked (an empty list revokes all).

    + user: the account's user name
    + privileges: the privileges, like ``['SELECT', 'INSERT']`` or ``'ALL'``
    + user_hostname: the account's hostname
    + database: the database they apply to (``*``: all)
    + table: the table of that database they apply to (``*``: all)
    + flush: reload the grant tables after a change (``FLUSH PRIVILEGES``)
    + with_grant_option: whether the account may grant these privileges to others
    + mysql_user: connection setting (see the top of this page)
    + mysql_password: connection setting
    + mysql_host: connection setting
    + mysql_port: connection setting
    """
    db = Connection(mysql_user, mysql_password, mysql_host, mysql_port)
    name_arg("user", user)
    name_arg("user_hostname", user_hostname)
    name_arg("database", database)
    name_arg("table", table)
    wanted = privilege_set(privileges)
    if with_grant_option:
        wanted.add("GRANT OPTION")
    if database == "*" and table != "*":
        raise OperationError(
            f"table {table!r} needs its database: a table on every database (*.{table}) is not a target"
        )
    target = f"{'*' if database == '*' else ident(database)}.{'*' if table == '*' else ident(table)}"
    grants = host.fact.mysql_user_grants(user, user_hostname, *db.fact_args())
    yield from privilege_commands(db, grants, user, user_hostname, wanted, target, flush)


__getattr__ = unknown_operation(__name__)
