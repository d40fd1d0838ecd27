"""postgresql.* and mysql.* through the real `pyinfra` command, logged in as a non-root
sudo user over the test sshd, against a real PostgreSQL and a real MariaDB the suite
starts (tests/services.py): apply, check the server really changed (roles and accounts
log in with the passwords set), apply again and check nothing changed; the passwords
never appear in any output mode, and an unreachable server fails the deploy."""

import json
import re

import pytest
from support import users

from pyinfra.api.command import quote
from pyinfra.modules._passwords import mysql_native_hash

PG_PASSWORD = "Pg-Role-Pw-4471"
PG_NEW_PASSWORD = "Pg-Role-N3w'pw"
MY_PASSWORD = "My-User-Pw-8823"
MY_NEW_PASSWORD = "My-User-N3w'pw"


def forms(value: str) -> set:
    once = quote(value)
    return {value, once, quote(once), repr(value), json.dumps(value), once.strip("'")}


def assert_hidden(result, *secrets):
    for value in secrets:
        for form in forms(value):
            assert form not in result.output, (form, result.output)
    # Nor the hashes the operations send instead of the passwords.
    assert "SCRAM-SHA-256$" not in result.output, result.output
    assert not re.search(r"\*[0-9A-F]{40}", result.output), result.output


def applied(result):
    assert result.returncode == 0, result.output
    assert re.search(r" 0 failed: [0-9]+ operations, [1-9][0-9]* changed", result.output), result.output


def unchanged(result):
    assert result.returncode == 0, result.output
    assert re.search(r" 0 failed: [0-9]+ operations, 0 changed", result.output), result.output


def postgres_deploy(pg, password, limit):
    return f"""
        from pyinfra.modules import postgresql
        pg = dict(sudo=True, sudo_user='postgres', psql_host={pg.socket_dir!r}, psql_port={pg.port})
        postgresql.role('pyinfra_t_app', password={password!r}, createdb=True, **pg)
        postgresql.role('pyinfra_t_group', login=False, connection_limit={limit}, **pg)
        postgresql.role('pyinfra_t_gone', present=False, **pg)
        postgresql.database('pyinfra_t_appdb', owner='pyinfra_t_app', encoding='utf-8', template='template0',
                            connection_limit={limit}, **pg)
        postgresql.database('pyinfra_t_gone_db', present=False, **pg)
    """


@pytest.fixture
def pg(postgres_server):
    postgres_server.psql(
        "DROP DATABASE IF EXISTS pyinfra_t_appdb; DROP DATABASE IF EXISTS pyinfra_t_gone_db;"
        " DROP ROLE IF EXISTS pyinfra_t_app; DROP ROLE IF EXISTS pyinfra_t_group;"
        " DROP ROLE IF EXISTS pyinfra_t_gone"
    )
    postgres_server.psql("CREATE ROLE pyinfra_t_gone; CREATE ROLE pyinfra_t_group LOGIN")
    postgres_server.psql("CREATE DATABASE pyinfra_t_gone_db")
    return postgres_server


def test_postgresql_roles_and_databases(pg, pyinfra_as, deploy_dir):
    run = pyinfra_as(users.SUDO)
    root = deploy_dir({"deploy.py": postgres_deploy(pg, PG_PASSWORD, 5)})

    first = run("127.0.0.2", "deploy.py", "-v", cwd=root)
    applied(first)
    assert_hidden(first, PG_PASSWORD)
    assert "password=***" in first.output, first.output
    assert pg.login("pyinfra_t_app", PG_PASSWORD).stdout.strip() == "pyinfra_t_app"
    assert pg.login("pyinfra_t_app", "wrong").returncode != 0
    roles = pg.psql(
        "SELECT rolname, rolcanlogin, rolcreatedb, rolconnlimit FROM pg_roles WHERE rolname ~ '^pyinfra_t'"
    )
    assert sorted(roles.splitlines()) == ["pyinfra_t_app|t|t|-1", "pyinfra_t_group|f|f|5"]
    database = pg.psql(
        "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datconnlimit FROM pg_database"
        " WHERE datname = 'pyinfra_t_appdb'"
    )
    assert database == "pyinfra_t_app|UTF8|5"
    assert pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'pyinfra_t_gone_db'") == "0"

    unchanged(run("127.0.0.2", "deploy.py", cwd=root))
    as_json = run("127.0.0.2", "deploy.py", "--json", cwd=root)
    assert as_json.returncode == 0, as_json.output
    assert_hidden(as_json, PG_PASSWORD)

    # A new password and limit: planned and shown with --dry --diff, then applied.
    root = deploy_dir({"deploy.py": postgres_deploy(pg, PG_NEW_PASSWORD, 7)})
    dry = run("127.0.0.2", "deploy.py", "--dry", "--diff", "-v", cwd=root)
    assert dry.returncode == 0, dry.output
    assert_hidden(dry, PG_PASSWORD, PG_NEW_PASSWORD)
    assert pg.login("pyinfra_t_app", PG_PASSWORD).returncode == 0
    changed = run("127.0.0.2", "deploy.py", "-vv", cwd=root)
    applied(changed)
    assert_hidden(changed, PG_PASSWORD, PG_NEW_PASSWORD)
    assert pg.login("pyinfra_t_app", PG_NEW_PASSWORD).returncode == 0
    assert pg.login("pyinfra_t_app", PG_PASSWORD).returncode != 0
    assert pg.psql("SELECT rolconnlimit FROM pg_roles WHERE rolname = 'pyinfra_t_group'") == "7"
    unchanged(run("127.0.0.2", "deploy.py", cwd=root))


def test_postgresql_sql_and_errors(pg, pyinfra_as, deploy_dir):
    run = pyinfra_as(users.SUDO)
    settings = f"sudo=True, sudo_user='postgres', psql_host={pg.socket_dir!r}, psql_port={pg.port}"
    root = deploy_dir(
        {
            "deploy.py": f"""
                from pyinfra.modules import postgresql
                postgresql.database('pyinfra_t_appdb', {settings})
                postgresql.sql('CREATE TABLE IF NOT EXISTS notes (body text)', database='pyinfra_t_appdb',
                               {settings})
                postgresql.sql("INSERT INTO notes VALUES ('it''s')", database='pyinfra_t_appdb', {settings})
            """
        }
    )
    for count in ("1", "2"):
        applied(run("127.0.0.2", "deploy.py", cwd=root))
        assert pg.psql("SELECT count(*) FROM notes WHERE body = 'it''s'", "pyinfra_t_appdb") == count

    # A database that exists with another encoding cannot be made right: an error.
    pg.psql(
        "CREATE DATABASE pyinfra_t_gone_latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'"
        " TEMPLATE template0"
    )
    try:
        root = deploy_dir(
            {
                "deploy.py": f"""
                    from pyinfra.modules import postgresql
                    postgresql.database('pyinfra_t_gone_latin', encoding='UTF8', {settings})
                """
            }
        )
        refused = run("127.0.0.2", "deploy.py", cwd=root)
        assert refused.returncode != 0, refused.output
        assert "exists with encoding 'LATIN1', not 'UTF8'" in refused.output, refused.output
        assert "Traceback" not in refused.output
    finally:
        pg.psql("DROP DATABASE pyinfra_t_gone_latin")

    # A server that is not there is an error, never "no such role".
    root = deploy_dir(
        {
            "deploy.py": f"""
                from pyinfra.modules import postgresql
                postgresql.role('pyinfra_t_gone', present=False, password={PG_PASSWORD!r}, sudo=True,
                                sudo_user='postgres', psql_host={pg.socket_dir!r}, psql_port=1,
                                psql_password={PG_NEW_PASSWORD!r})
            """
        }
    )
    failed = run("127.0.0.2", "deploy.py", "--debug", cwd=root)
    assert failed.returncode != 0, failed.output
    assert ".s.PGSQL.1" in failed.output, failed.output
    assert_hidden(failed, PG_PASSWORD, PG_NEW_PASSWORD)


def mysql_deploy(db, password, privileges):
    return f"""
        from pyinfra.modules import mysql
        my = dict(mysql_user={db.admin_user!r}, mysql_password={db.admin_password!r}, mysql_host='127.0.0.1',
                  mysql_port={db.port})
        mysql.user('pyinfra_t_app', user_hostname='127.0.0.1', password={password!r}, privileges=['PROCESS'],
                   **my)
        mysql.user('pyinfra_t_gone', user_hostname='127.0.0.1', present=False, **my)
        mysql.database('pyinfra_t_appdb', charset='utf8mb4', collate='utf8mb4_unicode_ci',
                       user='pyinfra_t_app', user_hostname='127.0.0.1', user_privileges={privileges!r}, **my)
        mysql.privileges('pyinfra_t_app', 'ALL', user_hostname='127.0.0.1', database='pyinfra_t_logs',
                         table='events', with_grant_option=True, **my)
        mysql.database('pyinfra_t_gone_db', present=False, **my)
    """


@pytest.fixture
def my(mariadb_server):
    mariadb_server.sql(
        "DROP USER IF EXISTS 'pyinfra_t_app'@'127.0.0.1'; DROP USER IF EXISTS 'pyinfra_t_gone'@'127.0.0.1';"
        " DROP DATABASE IF EXISTS pyinfra_t_appdb; DROP DATABASE IF EXISTS pyinfra_t_logs;"
        " CREATE USER 'pyinfra_t_gone'@'127.0.0.1'; CREATE DATABASE IF NOT EXISTS pyinfra_t_gone_db;"
        " CREATE DATABASE pyinfra_t_appdb CHARACTER SET latin1; CREATE DATABASE pyinfra_t_logs;"
        " CREATE TABLE pyinfra_t_logs.events (id int)"
    )
    return mariadb_server


def grants(db, password):
    result = db.login("pyinfra_t_app", password)
    assert result.returncode == 0, result.stderr
    return sorted(re.sub(r" IDENTIFIED BY PASSWORD '[^']*'", "", line) for line in result.stdout.splitlines())


def test_mysql_users_databases_and_privileges(my, pyinfra_as, deploy_dir):
    run = pyinfra_as(users.SUDO)
    root = deploy_dir({"deploy.py": mysql_deploy(my, MY_PASSWORD, ["SELECT", "insert", "UPDATE"])})
    secrets = (MY_PASSWORD, my.admin_password, mysql_native_hash(MY_PASSWORD))

    first = run("127.0.0.2", "deploy.py", "-v", cwd=root)
    applied(first)
    assert_hidden(first, *secrets)
    account = "`pyinfra_t_app`@`127.0.0.1`"
    assert grants(my, MY_PASSWORD) == [
        f"GRANT ALL PRIVILEGES ON `pyinfra_t_logs`.`events` TO {account} WITH GRANT OPTION",
        f"GRANT PROCESS ON *.* TO {account}",
        f"GRANT SELECT, INSERT, UPDATE ON `pyinfra_t_appdb`.* TO {account}",
    ]
    assert my.login("pyinfra_t_app", "wrong").returncode != 0
    schema = (
        "SELECT CONCAT(DEFAULT_CHARACTER_SET_NAME, ' ', DEFAULT_COLLATION_NAME)"
        " FROM information_schema.SCHEMATA"
    )
    assert my.sql(f"{schema} WHERE SCHEMA_NAME = 'pyinfra_t_appdb'") == "utf8mb4 utf8mb4_unicode_ci"
    assert my.sql("SELECT COUNT(*) FROM mysql.user WHERE User = 'pyinfra_t_gone'") == "0"
    assert my.sql(f"{schema} WHERE SCHEMA_NAME = 'pyinfra_t_gone_db'") == ""

    unchanged(run("127.0.0.2", "deploy.py", cwd=root))
    as_json = run("127.0.0.2", "deploy.py", "--json", cwd=root)
    assert as_json.returncode == 0, as_json.output
    assert_hidden(as_json, *secrets)

    # Another password, fewer privileges: planned with --dry --diff, then applied.
    root = deploy_dir({"deploy.py": mysql_deploy(my, MY_NEW_PASSWORD, ["SELECT"])})
    secrets += (MY_NEW_PASSWORD, mysql_native_hash(MY_NEW_PASSWORD))
    dry = run("127.0.0.2", "deploy.py", "--dry", "--diff", "-v", cwd=root)
    assert dry.returncode == 0, dry.output
    assert_hidden(dry, *secrets)
    changed = run("127.0.0.2", "deploy.py", "-vv", cwd=root)
    applied(changed)
    assert_hidden(changed, *secrets)
    assert my.login("pyinfra_t_app", MY_PASSWORD).returncode != 0
    assert f"GRANT SELECT ON `pyinfra_t_appdb`.* TO {account}" in grants(my, MY_NEW_PASSWORD)
    unchanged(run("127.0.0.2", "deploy.py", cwd=root))

    # A wrong admin password fails the deploy (the facts cannot be read), hidden.
    root = deploy_dir(
        {
            "deploy.py": f"""
                from pyinfra.modules import mysql
                mysql.database('pyinfra_t_appdb', present=False, mysql_user={my.admin_user!r},
                               mysql_password='Wrong-Admin-Pw', mysql_host='127.0.0.1', mysql_port={my.port})
            """
        }
    )
    failed = run("127.0.0.2", "deploy.py", "--debug", cwd=root)
    assert failed.returncode != 0, failed.output
    assert "Access denied" in failed.output, failed.output
    assert_hidden(failed, "Wrong-Admin-Pw")
    assert my.sql(f"{schema} WHERE SCHEMA_NAME = 'pyinfra_t_appdb'") == "utf8mb4 utf8mb4_unicode_ci"
