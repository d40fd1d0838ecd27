"""Facts about a MySQL or MariaDB server, read with the `mysql` client on the host.

Each takes the connection's `mysql_user`, `mysql_password`, `mysql_host` and
`mysql_port`; left out, the client's defaults apply: the local socket, as the user the
fact is read as (root logs in to a packaged MariaDB by its unix_socket plugin, so
``sudo=True`` is enough there).

A host without the client, asked about its local server, has no users and no
databases. A server that cannot be reached, or refuses the login, is an error.
"""

from __future__ import annotations

import json
import re

from pyinfra.api import FactBase, quote
from pyinfra.api.command import StringCommand, with_secret_env
from pyinfra.api.facts import ABSENT, program_path


def mysql_run(
    sql: str,
    database: str | None = None,
    user: str | None = None,
    password: str | None = None,
    host: str | None = None,
    port: int | str | None = None,
) -> StringCommand:
    """mysql running `sql` in batch mode (no headers, raw values), stopping at the first
    error; the password travels in MYSQL_PWD, not in argv."""
    words = ["mysql", "-N", "-B", "-r"]
    if user:
        words.append(f"--user={quote(user)}")
    if host:
        words.append(f"--host={quote(host)}")
    if port:
        words.append(f"--port={quote(port)}")
    if database:
        words.append(f"--database={quote(database)}")
    words += ["-e", quote(sql)]
    return with_secret_env("MYSQL_PWD", password, " ".join(words))


def mysql_command(*args, **kwargs) -> str:
    """mysql_run's command as sent (what a fact runs)."""
    return mysql_run(*args, **kwargs).command


def with_mysql(command: str, host: str | None) -> str:
    """`command`, on a host that has the client. Without it, a local server is absent;
    a remote one is an error (nothing is known of it)."""
    missing = f"echo {ABSENT}" if not host else "{ echo 'mysql: command not found' >&2; false; }"
    return f"if {program_path('mysql')} >/dev/null; then {{ {command}; }}; else {missing}; fi"


def sql_string(value) -> str:
    """A MySQL string literal (backslashes are escapes in MySQL's default mode)."""
    text = str(value).replace("\\", "\\\\").replace("'", "''")
    return f"'{text}'"


class MysqlFact(FactBase):
    abstract = True
    default = dict
    # What an operation's change may alter (api/dependencies.py): a new account has
    # grants, so accounts and grants go together; databases are apart.
    subject = "mysql accounts"
    sql = ""

    def command(self, mysql_user=None, mysql_password=None, mysql_host=None, mysql_port=None):
        command = mysql_command(self.sql, None, mysql_user, mysql_password, mysql_host, mysql_port)
        return with_mysql(command, mysql_host)

    def process(self, output):
        text = "".join(output).strip()
        value = json.loads(text) if text not in ("", "NULL") else {}
        if not isinstance(value, dict):
            raise ValueError(f"mysql gave {value!r}, not an object")
        return value


class MysqlUsers(MysqlFact):
    """Accounts by ``user@host``: ``{"app@localhost": {user, host, plugin,
    password_digest}}``. ``password_digest`` is the SHA-256 of the stored hash (None
    without a password): the password and its hash are never read."""

    sql = (
        "SELECT JSON_OBJECTAGG(CONCAT(User, '@', Host), JSON_OBJECT('user', User, 'host', Host,"
        " 'plugin', plugin, 'password_digest',"
        " IF(authentication_string = '', NULL, SHA2(authentication_string, 256)))) FROM mysql.user"
    )


class MysqlDatabases(MysqlFact):
    """Databases by name: ``{name: {charset, collate}}`` (their defaults)."""

    subject = "mysql databases"

    sql = (
        "SELECT JSON_OBJECTAGG(SCHEMA_NAME, JSON_OBJECT('charset', DEFAULT_CHARACTER_SET_NAME,"
        " 'collate', DEFAULT_COLLATION_NAME)) FROM information_schema.SCHEMATA"
    )


def split_privileges(text: str) -> list[str]:
    """`SELECT, UPDATE (a, b)` -> ['SELECT', 'UPDATE (a, b)']: commas inside a column
    list do not split."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [part for part in parts if part]


def privilege_name(privilege: str) -> str:
    """The privilege's words in capitals (not its column names): ``ALL PRIVILEGES`` is
    ``ALL``."""
    words, columns = re.match(r"([^(]*)(.*)", privilege).groups()
    words = " ".join(words.upper().split())
    if words == "ALL PRIVILEGES":
        words = "ALL"
    return f"{words} {columns}" if columns else words


# A name as SHOW GRANTS writes it: `quoted` (a doubled backtick inside), 'quoted' or bare.
NAME = r"(?:`(?:[^`]|``)*`|'(?:[^'\\]|\\.|'')*'|[^\s.@`']+)"
GRANT_LINE = re.compile(
    rf"GRANT (?P<privileges>.+?) ON (?:(?:TABLE|FUNCTION|PROCEDURE) )?(?P<target>{NAME}\.{NAME})"
    rf" TO (?P<grantee>{NAME}(?:@{NAME})?)(?P<rest>.*)"
)


class MysqlUserGrants(FactBase):
    """The privileges of the account ``user``@``hostname``, by what they apply to:
    ``{"*.*": ["USAGE"], "`app`.*": ["ALL"]}`` (``ALL PRIVILEGES`` is ``ALL``;
    ``GRANT OPTION`` is listed where it was given). None when there is no such
    account."""

    default = None
    subject = "mysql accounts"

    def command(
        self,
        user,
        hostname="localhost",
        mysql_user=None,
        mysql_password=None,
        mysql_host=None,
        mysql_port=None,
    ):
        def mysql(sql):
            return mysql_command(sql, None, mysql_user, mysql_password, mysql_host, mysql_port)

        account = f"{sql_string(user)}@{sql_string(hostname)}"
        where = f"User = {sql_string(user)} AND Host = {sql_string(hostname)}"
        exists = mysql(f"SELECT COUNT(*) FROM mysql.user WHERE {where}")
        # MariaDB writes the password hash into the first grant: it stops on the host.
        hide = quote(r"s/ (PASSWORD|USING|AS) '[^']*'/ \1 '***'/g")
        script = (
            f'n=$({exists}) && if [ "$n" = 0 ]; then echo {ABSENT};'
            f' else g=$({mysql(f"SHOW GRANTS FOR {account}")}) && printf "%s\\n" "$g" | sed -E {hide}; fi'
        )
        return with_mysql(script, mysql_host)

    def process(self, output):
        grants: dict[str, list[str]] = {}
        for line in output:
            if not line.strip():
                continue
            match = GRANT_LINE.match(line.strip())
            if not match:
                if re.match(r"GRANT \S+ TO ", line) or line.startswith("GRANT PROXY ON"):
                    continue  # a role granted to the account, or a proxy grant
                raise ValueError(f"cannot read the grant {line!r}")
            privileges = {privilege_name(privilege) for privilege in split_privileges(match["privileges"])}
            if re.search(r"\bWITH\b.*\bGRANT OPTION\b", match["rest"]):
                privileges.add("GRANT OPTION")
            target = match["target"]
            grants[target] = sorted(set(grants.get(target, [])) | privileges)
        return grants
