"""Real database servers for end-to-end tests: a PostgreSQL and a MariaDB of their own,
each in a temporary directory with its own socket directory and port, run as the
service's own system user, stopped afterwards.

No pytest dependency (tests/conftest.py wraps these in session fixtures)::

    with PostgresServer() as pg:    # pg.socket_dir, pg.port, pg.psql(sql)
        ...
    with MariadbServer() as db:     # db.socket, db.port, db.admin_user/admin_password
        ...

The packages are installed with apt-get when missing (the suite never skips).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time

from support.sshd import free_port

START_TIMEOUT = 60.0


def ensure_packages(programs: dict[str, str]) -> None:
    """`{program path or glob: Debian package}`: install the packages of the programs
    that are missing with apt-get; RuntimeError when one is still missing."""
    missing = sorted({package for path, package in programs.items() if not glob.glob(path)})
    if not missing:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    output = []
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output.append(f"$ {' '.join(command)}\n{proc.stdout}")
    still = [path for path in programs if not glob.glob(path)]
    if still:
        raise RuntimeError(f"installing {' '.join(missing)} failed ({still} missing):\n" + "\n".join(output))


def as_user(user: str, *command: str, env_extra=None, **kwargs) -> subprocess.CompletedProcess:
    entry = pwd.getpwnam(user)
    return subprocess.run(
        ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups", *command],
        capture_output=True,
        text=True,
        cwd="/",
        env={"PATH": "/usr/bin:/bin", "HOME": entry.pw_dir, "LC_ALL": "C.UTF-8", **(env_extra or {})},
        **kwargs,
    )


def checked(result: subprocess.CompletedProcess) -> str:
    if result.returncode != 0:
        raise RuntimeError(f"{result.args} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def service_dir(prefix: str, user: str) -> str:
    """A temporary directory owned by `user` that everyone may search (the test
    logins reach the sockets in it)."""
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o755)
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    return path


def pg_bin() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1])


class PostgresServer:
    """A PostgreSQL cluster made with initdb, its socket in `socket_dir`, listening on
    `port` of that socket only (no TCP). The `postgres` OS user logs in as the
    `postgres` role by peer authentication, as on a packaged server."""

    user = "postgres"

    def __init__(self):
        self.dir = None
        self.port = free_port()

    def start(self) -> PostgresServer:
        ensure_packages(
            {"/usr/lib/postgresql/*/bin/initdb": "postgresql", "/usr/bin/psql": "postgresql-client"}
        )
        self.dir = service_dir("pyinfra-t-pg-", self.user)
        self.socket_dir = os.path.join(self.dir, "run")
        self.data = os.path.join(self.dir, "data")
        os.mkdir(self.socket_dir)
        shutil.chown(self.socket_dir, self.user, self.user)
        os.chmod(self.socket_dir, 0o755)
        checked(
            as_user(
                self.user,
                f"{pg_bin()}/initdb",
                "-D",
                self.data,
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
                "--no-sync",
            )
        )
        # As on a packaged server: postgres by peer authentication, the other roles
        # with their passwords (a test logs in with the password an operation set).
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as handle:
            handle.write("local all postgres peer\nlocal all all scram-sha-256\n")
        options = f"-k {self.socket_dir} -p {self.port} -c listen_addresses='' -c fsync=off"
        checked(
            as_user(
                self.user,
                f"{pg_bin()}/pg_ctl",
                "-D",
                self.data,
                "-l",
                f"{self.dir}/log",
                "-o",
                options,
                "-w",
                "-t",
                str(int(START_TIMEOUT)),
                "start",
            )
        )
        return self

    def psql(self, sql: str, database: str = "postgres") -> str:
        """`sql` run as the postgres superuser, each statement on its own (DROP DATABASE
        cannot share a transaction); the rows, one a line, fields split by |."""
        statements = [part for statement in sql.split("; ") for part in ("-c", statement)]
        connection = ["-h", self.socket_dir, "-p", str(self.port), "-d", database]
        command = ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", *connection, *statements]
        return checked(as_user(self.user, *command)).strip()

    def login(self, role: str, password: str, database: str = "postgres") -> subprocess.CompletedProcess:
        """`role` logging in with `password` (as an OS user with no peer role)."""
        return as_user(
            "nobody",
            "psql",
            "-X",
            "-A",
            "-t",
            "-w",
            "-h",
            self.socket_dir,
            "-p",
            str(self.port),
            "-U",
            role,
            "-d",
            database,
            "-c",
            "SELECT current_user",
            env_extra={"PGPASSWORD": password},
        )

    def stop(self) -> None:
        if self.dir is None:
            return
        as_user(self.user, f"{pg_bin()}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


class MariadbServer:
    """A MariaDB server made with mariadb-install-db in a temporary datadir, run by the
    `mysql` user on its own `socket` and on 127.0.0.1:`port`. root@localhost logs in
    through the socket as the OS root (unix_socket); `admin_user`@127.0.0.1 with
    `admin_password` may do everything, through TCP."""

    user = "mysql"
    admin_user = "pyinfra_t_admin"
    admin_password = "adm1n-pw-Secr3t"

    def __init__(self):
        self.dir = None
        self.process = None
        self.port = free_port()

    def start(self) -> MariadbServer:
        ensure_packages({"/usr/sbin/mariadbd": "mariadb-server", "/usr/bin/mariadb": "mariadb-client"})
        self.dir = service_dir("pyinfra-t-mariadb-", self.user)
        self.data = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        checked(
            as_user(
                self.user,
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.data}",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
            )
        )
        entry = pwd.getpwnam(self.user)
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.process = subprocess.Popen(
            [
                "setpriv",
                f"--reuid={entry.pw_uid}",
                f"--regid={entry.pw_gid}",
                "--init-groups",
                "/usr/sbin/mariadbd",
                "--no-defaults",
                f"--datadir={self.data}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self.dir}/pid",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                "--skip-name-resolve",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd="/",
        )
        deadline = time.monotonic() + START_TIMEOUT
        while self.sql("SELECT 1", check=False).returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mariadbd did not start:\n{open(self.log.name).read()}")
            time.sleep(0.2)
        self.sql(
            f"CREATE USER '{self.admin_user}'@'127.0.0.1' IDENTIFIED BY '{self.admin_password}';"
            f" GRANT ALL ON *.* TO '{self.admin_user}'@'127.0.0.1' WITH GRANT OPTION"
        )
        return self

    def sql(self, sql: str, check: bool = True):
        """`sql` run as root through the socket: its rows (tab-separated), or with
        check=False the CompletedProcess."""
        result = subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.socket}", "-u", "root", "-N", "-B", "-e", sql],
            capture_output=True,
            text=True,
        )
        return checked(result).strip() if check else result

    def login(self, user: str, password: str) -> subprocess.CompletedProcess:
        """`user` logging in with `password` through TCP; its grants on stdout."""
        return subprocess.run(
            [
                "mariadb",
                "--no-defaults",
                "-h",
                "127.0.0.1",
                "-P",
                str(self.port),
                "-u",
                user,
                "-N",
                "-B",
                "-e",
                "SHOW GRANTS",
            ],
            capture_output=True,
            text=True,
            env=dict(os.environ, MYSQL_PWD=password),
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
            self.log.close()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
